import type { GenericType, QueryResult } from '../../backend/types.js';
import { cellText, rowCells } from './cell-text.js';

/**
 * A result as an aligned text table for people, like psql's:
 *
 *      id | email           | balance
 *     ----+-----------------+---------
 *       1 | ada@example.com | 12.30
 *     (1 row)
 *     Time: 0.412 ms
 *
 * Numbers are right-aligned, everything else left-aligned. SQL NULL shows as `NULL`; control characters are
 * escaped (`\n`, `\t`, `\xNN`) so every row is one line. A value longer than `maxWidth` characters is cut
 * and ends in `…`, and the footer says how many were cut: never silently. The table is for reading; use
 * CSV or JSON for exact values.
 */
export const DEFAULT_MAX_WIDTH = 48;

const NUMERIC: ReadonlySet<GenericType> = new Set([
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'DECIMAL',
  'FLOAT',
  'DOUBLE',
]);

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;

function escapeControl(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

export interface TableOptions {
  /** Longest value shown in full, in characters (UTF-16 units); longer ones are cut with `…`. */
  maxWidth: number;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The footer: row count (or what a write did) and the database time. */
function footer(result: QueryResult, truncated: number, maxWidth: number): string[] {
  const lines: string[] = [];
  if (result.columns.length > 0) lines.push(`(${plural(result.rowCount, 'row')})`);
  else {
    const id = result.lastInsertId === null ? '' : `, lastInsertId ${result.lastInsertId}`;
    lines.push(`${result.command}: ${plural(result.affectedRows, 'row')} affected${id}`);
  }
  if (truncated > 0) {
    lines.push(
      `${plural(truncated, 'value')} cut at ${maxWidth} characters (marked …): ask for ?maxWidth=N, ` +
        'Accept: text/csv or JSON for full values',
    );
  }
  lines.push(`Time: ${result.durationMs.toFixed(3)} ms`);
  return lines;
}

export function toTextTable(result: QueryResult, opts: TableOptions): string {
  const { columns } = result;
  if (columns.length === 0) return `${footer(result, 0, opts.maxWidth).join('\n')}\n`;
  let truncated = 0;
  const show = (text: string): string => {
    const clean = text.replace(CONTROL, escapeControl);
    if (clean.length <= opts.maxWidth) return clean;
    truncated++;
    return `${clean.slice(0, Math.max(1, opts.maxWidth - 1))}…`;
  };
  const header = columns.map((c) => show(c.name));
  const widths = header.map((h) => h.length);
  const body = rowCells(result).map((row) =>
    columns.map((_c, i) => {
      const t = cellText(row[i]);
      const s = t === null ? 'NULL' : show(t);
      if (s.length > (widths[i] as number)) widths[i] = s.length;
      return s;
    }),
  );
  const right = columns.map((c) => NUMERIC.has(c.type));
  const line = (cells: string[], isHeader: boolean) =>
    cells
      .map((s, i) => {
        const w = widths[i] as number;
        if (isHeader) {
          const pad = w - s.length;
          return ' '.repeat(pad >> 1) + s + ' '.repeat(pad - (pad >> 1));
        }
        return right[i] ? s.padStart(w) : s.padEnd(w);
      })
      .join(' | ')
      .trimEnd();
  const out: string[] = [` ${line(header, true)}`];
  out.push(widths.map((w) => '-'.repeat(w + 2)).join('+'));
  for (const cells of body) out.push(` ${line(cells, false)}`);
  out.push(...footer(result, truncated, opts.maxWidth));
  return `${out.join('\n')}\n`;
}
