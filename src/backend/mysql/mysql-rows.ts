import { isRawJson } from '../json-text.js';
import { approxJsonSize } from '../result-limits.js';
import type { GenericType, Int64Mode, JsonValue } from '../types.js';
import { type FieldInfo, FLAG, T } from './mysql-types.js';
import type { Encoder } from './mysql-values.js';
import type { RowPacket } from './mysql2-internals.js';

/**
 * Binary-protocol rows decoded straight from the packet into JSON values. mysql2's own row parser builds
 * an intermediate value per cell (dates through `leftPad` and array joins, BIGINT through the `long`
 * library) that the value mapper then reshapes again; here each column gets one reader, chosen once per
 * result set, that reads the wire bytes and produces the final value. Readers that have no faster form
 * read exactly what mysql2 would (its own packet methods, our driver options: bigNumberStrings, dateStrings,
 * jsonStrings, decimal strings) and hand it to the column's encoder, so their output is unchanged.
 * @see https://mariadb.com/kb/en/resultset-row/#binary-resultset-row
 */

/** The mysql2 packet members the readers use (its `Packet` class; listed in mysql2-internals.ts). */
export type { RowPacket } from './mysql2-internals.js';

/** One non-null cell -> its JSON value. */
export type Reader = (p: RowPacket) => JsonValue;

/** A column's reader, and whether it reports its own encoded size (JSON columns, see RowMeter). */
export interface ColumnReader {
  read: Reader;
  /** The cell's JSON text: what JSON.stringify writes for `read`'s value (JSON cells: the server's text). */
  text: (p: RowPacket) => string;
  sized: boolean;
}

/** Bytes counted by readers whose values are objects (parsed JSON): their text length, not a re-stringify. */
export interface RowMeter {
  /** Added by sized readers during a row. */
  bytes: number;
  /** The last decoded row's approximate encoded size. */
  rowBytes: number;
}

const P2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const pad4 = (n: number) => (n >= 1000 ? String(n) : n >= 100 ? `0${n}` : n >= 10 ? `00${n}` : `000${n}`);
const pad6 = (n: number) => (n >= 100000 ? String(n) : String(n).padStart(6, '0'));
/** 10^(6 - d): microseconds below this show as zeros in the first d digits. */
const SCALE = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/** A length-coded length at `o`: [length, offset after it]; null (0xfb) never occurs for a non-null cell. */
function lengthAt(buf: Buffer, o: number): [number, number] {
  const b = buf[o] as number;
  if (b < 0xfb) return [b, o + 1];
  if (b === 0xfc) return [buf.readUInt16LE(o + 1), o + 3];
  if (b === 0xfd) return [buf.readUIntLE(o + 1, 3), o + 4];
  // 0xfe: 8 bytes; a cell is far below 2^53 bytes.
  return [buf.readUInt32LE(o + 1) + buf.readUInt32LE(o + 5) * 4294967296, o + 9];
}

/**
 * BIGINT as mysql2 reads it with bigNumberStrings (its decimal string), without the `long` library: any
 * value within ±2^53 is exact as a double, the rest goes through BigInt.
 */
function readInt64String(p: RowPacket, unsigned: boolean): string {
  const buf = p.buffer;
  const o = p.offset;
  p.offset = o + 8;
  const lo = buf.readUInt32LE(o);
  const hi = unsigned ? buf.readUInt32LE(o + 4) : buf.readInt32LE(o + 4);
  if (hi >= -0x200000 && hi < 0x200000) return String(hi * 4294967296 + lo);
  return (unsigned ? buf.readBigUInt64LE(o) : buf.readBigInt64LE(o)).toString();
}

/** The cell as mysql2's binary parser returns it with this backend's connection options. */
function driverReader(f: FieldInfo): (p: RowPacket) => unknown {
  const unsigned = (f.flags & FLAG.UNSIGNED) !== 0;
  const encoding = f.encoding ?? 'utf8';
  if (f.extendedFormat === 'json') return (p) => p.readLengthCodedString(encoding);
  switch (f.columnType) {
    case T.TINY:
      return unsigned ? (p) => p.readInt8() : (p) => p.readSInt8();
    case T.SHORT:
      return unsigned ? (p) => p.readInt16() : (p) => p.readSInt16();
    case T.LONG:
    case T.INT24:
      return unsigned ? (p) => p.readInt32() : (p) => p.readSInt32();
    case T.YEAR:
      return (p) => p.readInt16();
    case T.FLOAT:
      return (p) => p.readFloat();
    case T.DOUBLE:
      return (p) => p.readDouble();
    case T.NULL:
      return () => null;
    case T.DATE:
    case T.DATETIME:
    case T.TIMESTAMP:
    case T.NEWDATE: {
      const decimals = f.decimals;
      const ct = f.columnType;
      return (p) => p.readDateTimeString(decimals, null, ct);
    }
    case T.TIME:
      return (p) => p.readTimeString();
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return (p) => p.readLengthCodedString('ascii');
    case T.GEOMETRY:
      return (p) => p.parseGeometryValue();
    case T.VECTOR:
      return (p) => p.parseVector();
    case T.JSON:
      return (p) => p.readLengthCodedString('utf8');
    case T.LONGLONG:
      return (p) => readInt64String(p, unsigned);
    default:
      if (f.characterSet === 63) return (p) => p.readLengthCodedBuffer();
      return (p) => p.readLengthCodedString(encoding);
  }
}

/**
 * DATE / DATETIME / TIMESTAMP straight to the gateway's text: `YYYY-MM-DD`, or
 * `YYYY-MM-DDTHH:MM:SS[.f]` + `suffix`, the fraction with the column's digits and dropped when zero (as
 * the value mapper's encoders do with mysql2's strings). An unexpected length goes the general way.
 */
function temporalReader(f: FieldInfo, dateOnly: boolean, suffix: string, slow: Reader): Reader {
  const digits = Math.min(6, f.decimals);
  return (p) => {
    const buf = p.buffer;
    let o = p.offset;
    const len = buf[o] as number;
    if (len !== 0 && len !== 4 && (dateOnly || (len !== 7 && len !== 11))) return slow(p);
    o++;
    let date = '0000-00-00';
    if (len >= 4) {
      date = `${pad4(buf.readUInt16LE(o))}-${P2[buf[o + 2] as number]}-${P2[buf[o + 3] as number]}`;
      o += 4;
    }
    if (dateOnly) {
      p.offset = o;
      return date;
    }
    let time = 'T00:00:00';
    if (len >= 7) {
      time = `T${P2[buf[o] as number]}:${P2[buf[o + 1] as number]}:${P2[buf[o + 2] as number]}`;
      o += 3;
    }
    if (len === 11) {
      const us = buf.readUInt32LE(o);
      o += 4;
      // The first `digits` of the 6 microsecond digits, when they are not all zero.
      if (us !== 0) {
        if (digits >= 6) time += `.${pad6(us)}`;
        else if (digits > 0) {
          if (us >= (SCALE[digits] as number)) time += `.${pad6(us).slice(0, digits)}`;
        } else time += `.${pad6(us).replace(/0+$/, '')}`;
      }
    }
    p.offset = o;
    return date + time + suffix;
  };
}

/** A cell's JSON text from its value, as JSON.stringify writes it inside a row. */
function jsonText(v: JsonValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return JSON.stringify(v);
  }
}

/** A reader whose strings never need JSON escaping (digits, signs, dates, base64). */
function plain(read: Reader): ColumnReader {
  return { read, text: (p) => `"${read(p) as string}"`, sized: false };
}

/**
 * The reader of one column. `native` and `target` are as for `columnEncoder`, and `encoder` is the column's
 * encoder: when the client asked for no other type, hot types are read directly into their final form.
 */
export function columnReader(
  f: FieldInfo,
  native: GenericType,
  target: GenericType | undefined,
  int64: Int64Mode,
  encoder: Encoder,
  meter: RowMeter,
): ColumnReader {
  const raw = driverReader(f);
  const general: Reader = (p) => encoder(raw(p));
  const generalText = (p: RowPacket) => jsonText(encoder(raw(p)));
  const direct = !target || target === native;
  const ct = f.columnType;
  if (native === 'JSON' && direct) {
    return {
      // The text length stands for the encoded size: stringifying the parsed value again costs as much as
      // parsing it.
      read: (p) => {
        const text = raw(p);
        if (typeof text === 'string') meter.bytes += text.length;
        return encoder(text);
      },
      // The stored text may hold line breaks (it is kept as inserted): written back minified, numbers as
      // stored (json-text.ts).
      text: (p) => {
        const v = encoder(raw(p));
        return isRawJson(v) ? v.text : jsonText(v);
      },
      sized: true,
    };
  }
  if (!direct) return { read: general, text: generalText, sized: false };
  if ((ct === T.DATE || ct === T.NEWDATE) && native === 'DATE') {
    return plain(temporalReader(f, true, '', general));
  }
  if ((ct === T.DATETIME || ct === T.TIMESTAMP) && (native === 'DATETIME' || native === 'TIMESTAMP')) {
    return plain(temporalReader(f, false, native === 'TIMESTAMP' ? '+00:00' : '', general));
  }
  if (native === 'BLOB' && f.characterSet === 63 && ct !== T.BIT) {
    return plain((p) => {
      const [len, start] = lengthAt(p.buffer, p.offset);
      p.offset = start + len;
      return p.buffer.toString('base64', start, start + len);
    });
  }
  if ((ct === T.DECIMAL || ct === T.NEWDECIMAL) && native === 'DECIMAL') return plain(general);
  if (ct === T.LONGLONG && native === 'BIGINT' && int64 === 'string') return plain(general);
  return { read: general, text: generalText, sized: false };
}

/** What the row decoder hands mysql2 instead of a row: the row went into the statement's own list. */
export const ROW_TAKEN = Symbol('sqlgate.mysql.rowTaken');

/**
 * One binary row packet -> the row, an object keyed by `names` or (names null) an array; nulls come from
 * the null bitmap, which starts 2 bits in. Sets `meter.rowBytes` to the row's approximate encoded size.
 * @see https://mariadb.com/kb/en/resultset-row/#null-bitmap
 */
export function decodeRow(
  p: RowPacket,
  readers: ColumnReader[],
  names: string[] | null,
  meter: RowMeter,
): JsonValue[] | Record<string, JsonValue> {
  const buf = p.buffer;
  const n = readers.length;
  const bitmap = p.offset + 1;
  p.offset = bitmap + ((n + 9) >> 3);
  const arr: JsonValue[] | null = names ? null : new Array<JsonValue>(n);
  const obj: Record<string, JsonValue> | null = names ? {} : null;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const bit = i + 2;
    let v: JsonValue = null;
    if ((buf[bitmap + (bit >> 3)] as number) & (1 << (bit & 7))) {
      bytes += 4;
    } else {
      const r = readers[i] as ColumnReader;
      v = r.read(p);
      switch (typeof v) {
        case 'string':
          bytes += v.length + 3;
          break;
        case 'number':
          bytes += 12;
          break;
        case 'boolean':
          bytes += 5;
          break;
        default:
          if (!r.sized) bytes += approxJsonSize(v);
      }
    }
    if (obj) obj[(names as string[])[i] as string] = v;
    else (arr as JsonValue[])[i] = v;
  }
  meter.rowBytes = bytes + meter.bytes;
  meter.bytes = 0;
  return (obj ?? arr) as JsonValue[] | Record<string, JsonValue>;
}

/** Rows of JSON text joined into one flat string at a time (see RowTextWriter). */
const CHUNK_ROWS = 64;

/**
 * Rows written straight to JSON text in the requested row mode, for rows-json.ts. The pieces are collected
 * flat and joined every CHUNK_ROWS rows: a string built with `+=` per cell is a tree of small strings that
 * keeps every cell's text alive until the end, which made the garbage collector the top cost.
 */
export class RowTextWriter {
  private readonly prefixes: string[];
  private readonly close: string;
  private readonly empty: string;
  private readonly parts: string[] = [];
  private readonly chunks: string[] = [];
  private inChunk = 0;
  rows = 0;

  constructor(names: string[], objects: boolean) {
    this.prefixes = objects
      ? names.map((n, i) => `${i === 0 ? '{' : ','}${JSON.stringify(n)}:`)
      : names.map((_, i) => (i === 0 ? '[' : ','));
    this.close = objects ? '}' : ']';
    this.empty = objects ? '{}' : '[]';
  }

  /**
   * Whether object rows can be written as text the way JSON.stringify writes the objects: not with a
   * duplicate column name (the object keeps the last) or `__proto__` (not an own property of the object).
   */
  static fits(names: string[], objects: boolean): boolean {
    return !objects || (new Set(names).size === names.length && !names.includes('__proto__'));
  }

  /** A row that is already text (JSON.stringify of a decoded row). */
  pushText(text: string): number {
    this.start();
    this.parts.push(text);
    this.end();
    return text.length + 1;
  }

  /** One binary row packet -> its text (the layout as in decodeRow); returns the characters added. */
  push(p: RowPacket, readers: ColumnReader[]): number {
    this.start();
    const parts = this.parts;
    const buf = p.buffer;
    const n = readers.length;
    const bitmap = p.offset + 1;
    p.offset = bitmap + ((n + 9) >> 3);
    let size = 2;
    if (n === 0) {
      parts.push(this.empty);
    } else {
      for (let i = 0; i < n; i++) {
        const bit = i + 2;
        const prefix = this.prefixes[i] as string;
        const v =
          (buf[bitmap + (bit >> 3)] as number) & (1 << (bit & 7))
            ? 'null'
            : (readers[i] as ColumnReader).text(p);
        parts.push(prefix, v);
        size += prefix.length + v.length;
      }
      parts.push(this.close);
    }
    this.end();
    return size;
  }

  private start(): void {
    if (this.rows > 0) this.parts.push(',');
  }

  private end(): void {
    this.rows++;
    if (++this.inChunk === CHUNK_ROWS) this.flush();
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(this.parts.join(''));
    this.parts.length = 0;
    this.inChunk = 0;
  }

  /** The rows' JSON text, `[...]`. */
  json(): string {
    this.flush();
    return `[${this.chunks.join('')}]`;
  }
}
