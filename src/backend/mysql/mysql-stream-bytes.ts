import type { NdjsonOut } from '../ndjson-out.js';
import type { GenericType, Int64Mode } from '../types.js';
import type { ColumnReader, RowPacket } from './mysql-rows.js';
import { BINARY_CHARSET, type FieldInfo, FLAG, mysqlGenericType, T } from './mysql-types.js';

/**
 * The byte path of a streamed MySQL/MariaDB result (mysql-stream.ts): a binary-protocol row packet written
 * into the NDJSON buffer cell by cell. Integers are written as digits, DECIMAL text gets its quotes and
 * ASCII text its JSON escaping straight from the packet bytes; every other cell (and text with non-ASCII
 * bytes) goes through the column reader's `text`, so the line is the same as the string path's.
 */

/** Writes one non-null cell at `p.offset` and moves the offset past it. */
export type CellWriter = (p: RowPacket, out: NdjsonOut) => void;

const STRINGS = new Set<number>([
  T.VARCHAR,
  T.VAR_STRING,
  T.STRING,
  T.TINY_BLOB,
  T.MEDIUM_BLOB,
  T.LONG_BLOB,
  T.BLOB,
  T.ENUM,
]);
const TEXTUAL = new Set<GenericType>(['CHAR', 'VARCHAR', 'TEXT', 'ENUM', 'UUID']);

/** A length-coded length at `o`: [length, offset after it]. */
function lengthAt(buf: Buffer, o: number): [number, number] {
  const b = buf[o] as number;
  if (b < 0xfb) return [b, o + 1];
  if (b === 0xfc) return [buf.readUInt16LE(o + 1), o + 3];
  if (b === 0xfd) return [buf.readUIntLE(o + 1, 3), o + 4];
  return [buf.readUInt32LE(o + 1) + buf.readUInt32LE(o + 5) * 4294967296, o + 9];
}

/**
 * The writer of one column, or the reader's text when no byte path is known for it. `type` is the column's
 * type in the header (the client's columnTypes target included).
 */
export function cellWriterFor(
  f: FieldInfo,
  type: GenericType,
  int64: Int64Mode,
  reader: ColumnReader,
): CellWriter {
  const viaText: CellWriter = (p, out) => out.text(reader.text(p));
  if (type !== mysqlGenericType(f)) return viaText;
  const ct = f.columnType;
  const unsigned = (f.flags & FLAG.UNSIGNED) !== 0;
  if (type === 'SMALLINT' || type === 'INTEGER') {
    switch (ct) {
      case T.TINY:
        return (p, out) => {
          const b = p.buffer[p.offset++] as number;
          out.int(unsigned || b < 128 ? b : b - 256);
        };
      case T.SHORT:
      case T.YEAR:
        return (p, out) => {
          out.int(
            unsigned || ct === T.YEAR ? p.buffer.readUInt16LE(p.offset) : p.buffer.readInt16LE(p.offset),
          );
          p.offset += 2;
        };
      case T.LONG:
      case T.INT24:
        return (p, out) => {
          out.int(unsigned ? p.buffer.readUInt32LE(p.offset) : p.buffer.readInt32LE(p.offset));
          p.offset += 4;
        };
    }
    return viaText;
  }
  if (type === 'BIGINT' && ct === T.LONGLONG) {
    return (p, out) => {
      const buf = p.buffer;
      const o = p.offset;
      const lo = buf.readUInt32LE(o);
      const hi = unsigned ? buf.readUInt32LE(o + 4) : buf.readInt32LE(o + 4);
      // Within ±2^53 the double is exact: the same digits encodeInt64 gives, as a number or (string) quoted.
      if (hi >= -0x200000 && hi < 0x200000) {
        p.offset = o + 8;
        const v = hi * 4294967296 + lo;
        if (int64 === 'string') {
          out.ensure(1);
          out.byte(0x22);
          out.int(v);
          out.ensure(1);
          out.byte(0x22);
        } else if (Number.isSafeInteger(v)) out.int(v);
        else {
          p.offset = o;
          viaText(p, out);
        }
        return;
      }
      viaText(p, out);
    };
  }
  if (type === 'DECIMAL' && (ct === T.DECIMAL || ct === T.NEWDECIMAL)) {
    return (p, out) => {
      const [len, start] = lengthAt(p.buffer, p.offset);
      p.offset = start + len;
      out.quoted(p.buffer, start, start + len);
    };
  }
  const utf8 = f.encoding === undefined || f.encoding === 'utf8';
  if (TEXTUAL.has(type) && STRINGS.has(ct) && f.characterSet !== BINARY_CHARSET && utf8) {
    return (p, out) => {
      const o = p.offset;
      const [len, start] = lengthAt(p.buffer, o);
      if (out.asciiString(p.buffer, start, start + len)) {
        p.offset = start + len;
        return;
      }
      viaText(p, out);
    };
  }
  return viaText;
}

/**
 * One binary row packet as one NDJSON line: the null bitmap (2 bits in), then each cell with its prefix.
 * Throws what a reader throws; the caller truncates the buffer to before the row.
 */
export function writeRow(
  p: RowPacket,
  writers: CellWriter[],
  prefixes: Buffer[],
  close: string,
  out: NdjsonOut,
): void {
  const buf = p.buffer;
  const n = writers.length;
  const bitmap = p.offset + 1;
  p.offset = bitmap + ((n + 9) >> 3);
  if (n === 0) out.ascii(close === '}' ? '{' : '[');
  for (let i = 0; i < n; i++) {
    out.raw(prefixes[i] as Buffer);
    const bit = i + 2;
    if ((buf[bitmap + (bit >> 3)] as number) & (1 << (bit & 7))) out.ascii('null');
    else (writers[i] as CellWriter)(p, out);
  }
  out.ascii(close === '}' ? '}\n' : ']\n');
}
