import type { GenericType, QueryResult } from '../../backend/types.js';
import { rowTexts } from './rows-text.js';

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;

/** Shows cell texts the table's way (control characters escaped, long values cut) and counts the cuts. */
export class CellShow {
  /** How many values were cut so far. */
  truncated = 0;

  constructor(private readonly maxWidth: number) {}

  /** `text` as the table shows it. */
  show(text: string): string {
    const clean = HAS_CONTROL.test(text) ? text.replace(CONTROL, escapeControl) : text;
    if (clean.length <= this.maxWidth) return clean;
    this.truncated++;
    return `${clean.slice(0, Math.max(1, this.maxWidth - 1))}…`;
  }
}

/** Whether a column's values are right-aligned (numbers). */
export function rightAligned(type: GenericType): boolean {
  return NUMERIC.has(type);
}

/** The header line (names centred) and the dashed line under it, each ending in a newline. */
export function headLines(header: string[], widths: number[]): string {
  const headLine = header
    .map((h, i) => {
      const pad = (widths[i] as number) - h.length;
      return ' '.repeat(pad >> 1) + h + ' '.repeat(pad - (pad >> 1));
    })
    .join(' | ')
    .trimEnd();
  return ` ${headLine}\n${widths.map((w) => '-'.repeat(w + 2)).join('+')}\n`;
}

/** The footer lines after the rows, each ending in a newline. */
export function footerText(result: QueryResult, truncated: number, maxWidth: number): string {
  return `${footer(result, truncated, maxWidth).join('\n')}\n`;
}

/**
 * The table as a string, cell by cell. The response uses textTableBytes (text-table-bytes.ts), which
 * writes the same bytes faster; this form is its reference and serves results without rows JSON text.
 */
export function toTextTable(result: QueryResult, opts: TableOptions): string {
  const { columns } = result;
  if (columns.length === 0) return footerText(result, 0, opts.maxWidth);
  const cut = new CellShow(opts.maxWidth);
  const n = columns.length;
  const header = columns.map((c) => cut.show(c.name));
  const widths = header.map((h) => h.length);
  // First pass: every cell's text (flat, row-major) and each column's width.
  const rows = rowTexts(result);
  const cells: string[] = new Array(rows.length * n);
  let k = 0;
  for (const row of rows) {
    for (let i = 0; i < n; i++) {
      const t = row[i] as string | null;
      const s = t === null ? 'NULL' : cut.show(t);
      if (s.length > (widths[i] as number)) widths[i] = s.length;
      cells[k++] = s;
    }
  }
  const right = columns.map((c) => rightAligned(c.type));
  let out = headLines(header, widths);
  // Second pass: padded lines; the last column is not padded on the left-aligned side (no trailing blanks).
  k = 0;
  for (let r = 0; r < rows.length; r++) {
    let line = ' ';
    for (let i = 0; i < n; i++) {
      const s = cells[k++] as string;
      const w = widths[i] as number;
      if (i > 0) line += ' | ';
      if (right[i]) line += s.padStart(w);
      else line += i === n - 1 ? s : s.padEnd(w);
    }
    out += `${line.trimEnd()}\n`;
  }
  return out + footerText(result, cut.truncated, opts.maxWidth);
}
