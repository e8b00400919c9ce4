import type { QueryResult } from '../../backend/types.js';
import { ByteSink } from './byte-sink.js';
import { type CellGrid, CONTROL_CHAR, cellGrid, NON_ASCII, NULL_CELL, RANGE, TEXT } from './cell-grid.js';
import {
  CellShow,
  footerText,
  headLines,
  rightAligned,
  type TableOptions,
  toTextTable,
} from './text-table.js';

const SPACE = 32;
const NEWLINE = 10;

/**
 * The text table (text-table.ts) as UTF-8 bytes, byte for byte what `Buffer.from(toTextTable(...))` gives,
 * written from the cell grid (cell-grid.ts): plain cells go from the rows' JSON text straight into the
 * body, and only cells that must change (cut, escaped, decoded) become strings. This is what keeps a
 * 10,000-row table close to the JSON answer's speed (bench/formats.mjs).
 *
 * Trailing blanks: toTextTable trims each line with `trimEnd()`. Here a line is trimmed of spaces after it
 * is written; a last cell with characters outside ASCII (where trimEnd also drops other white space, such
 * as U+00A0) is trimmed with trimEnd itself before it is written.
 */
export function textTableBytes(result: QueryResult, opts: TableOptions): Buffer {
  const { columns } = result;
  if (columns.length === 0) return Buffer.from(toTextTable(result, opts));
  const { maxWidth } = opts;
  const cut = new CellShow(maxWidth);
  const header = columns.map((c) => cut.show(c.name));
  const widths = header.map((h) => h.length);
  const grid = cellGrid(result);
  measure(grid, cut, widths, maxWidth);
  const right = columns.map((c) => rightAligned(c.type));
  const head = headLines(header, widths);
  const rowBytes = widths.reduce((a, w) => a + w + 3, 0);
  const sink = new ByteSink(head.length * 3 + grid.rows * rowBytes + 512);
  sink.write(head);
  writeRows(grid, widths, right, sink);
  sink.write(footerText(result, cut.truncated, maxWidth));
  return sink.bytes();
}

// The two passes are functions of their own, apart from the result object: V8 then optimizes each loop
// once and keeps it (in one function, its on-stack replacement was thrown away on every call).

/** First pass: what each cell shows (cut or escaped cells become TEXT), and each column's width. */
function measure(grid: CellGrid, cut: CellShow, widths: number[], maxWidth: number): void {
  const { n, kind, start, end, flags, src, texts } = grid;
  const total = grid.rows * n;
  for (let k = 0, i = 0; k < total; k++) {
    let len = 4; // NULL
    const kd = kind[k];
    if (kd === RANGE) {
      len = (end[k] as number) - (start[k] as number);
      if (len > maxWidth || ((flags[k] as number) & CONTROL_CHAR) !== 0) {
        const t = cut.show(src.slice(start[k], end[k]));
        kind[k] = TEXT;
        start[k] = texts.push(t) - 1;
        len = t.length;
      }
    } else if (kd === TEXT) {
      const t = cut.show(texts[start[k] as number] as string);
      texts[start[k] as number] = t;
      len = t.length;
    }
    if (len > (widths[i] as number)) widths[i] = len;
    if (++i === n) i = 0;
  }
}

/** Second pass: padded lines; the last column is not padded on the left-aligned side (no trailing blanks). */
function writeRows(grid: CellGrid, widths: number[], right: boolean[], sink: ByteSink): void {
  const { n, kind, start, end, flags, src, texts } = grid;
  const total = grid.rows * n;
  for (let k = 0; k < total; ) {
    const lineStart = sink.length;
    sink.byte(SPACE);
    for (let i = 0; i < n; i++, k++) {
      const last = i === n - 1;
      if (i > 0) sink.separator();
      const kd = kind[k];
      const w = widths[i] as number;
      let len = 4;
      let text: string | undefined;
      if (kd === RANGE) len = (end[k] as number) - (start[k] as number);
      else if (kd === TEXT) {
        text = texts[start[k] as number] as string;
        len = text.length;
      }
      if (right[i]) sink.repeat(SPACE, w - len);
      if (kd === NULL_CELL) sink.write('NULL');
      else if (text !== undefined) sink.write(last ? text.trimEnd() : text);
      else if (last && ((flags[k] as number) & NON_ASCII) !== 0)
        sink.write(src.slice(start[k], end[k]).trimEnd());
      else sink.write(src, start[k], end[k]);
      if (!right[i] && !last) sink.repeat(SPACE, w - len);
    }
    sink.trimSpaces(lineStart);
    sink.byte(NEWLINE);
  }
}
