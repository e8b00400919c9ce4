import type { NdjsonOut } from '../ndjson-out.js';
import type { Int64Mode, JsonNumbersMode } from '../types.js';
import type { PgType } from './postgres-types.js';
import { jsonEncoderFor } from './postgres-values.js';

/**
 * The byte path of a streamed PostgreSQL result (postgres-stream.ts): DataRow messages are taken off the
 * socket before pg parses them, and each value's text is written into the NDJSON buffer as its JSON without
 * becoming a JavaScript string where the text already is (or only needs quotes or escaping to be) the JSON
 * that `jsonEncoderFor` would give. Every other type, and text with non-ASCII bytes, goes through the
 * string encoder, so the output is the same byte for byte as the string path's.
 *
 * Private pg detail used: the socket (`connection.stream`) has exactly one 'data' listener, the one
 * pg-protocol's `parse()` attached, which takes whole or partial messages in any split. While a stream
 * runs, that listener is replaced by `DataRowTap`, which hands DataRows to the stream and every other
 * message (PortalSuspended, CommandComplete, errors, notices, ReadyForQuery) to pg's listener, whole and in
 * order. The tap is removed when the statement settles; bytes after that go to whoever listens then.
 */

/** Writes one value's JSON from its text bytes `src[start, end)`. */
export type ByteEncoder = (src: Buffer, start: number, end: number, out: NdjsonOut) => void;

/** The byte encoder for a column: the same JSON text as `jsonEncoderFor(type, int64, jsonNumbers)`. */
export function byteEncoderFor(type: PgType, int64: Int64Mode, jsonNumbers: JsonNumbersMode): ByteEncoder {
  const slow = jsonEncoderFor(type, int64, jsonNumbers);
  const viaString: ByteEncoder = (src, start, end, out) => out.text(slow(src.toString('utf8', start, end)));
  if (type.generic === 'ARRAY') return viaString;
  switch (type.kind) {
    case 'int':
      // int2/int4 output: a plain decimal integer, already JSON (and what String(Number(t)) gives).
      return (src, start, end, out) => out.bytes(src, start, end);
    case 'int64':
      if (int64 === 'string') return (src, start, end, out) => out.quoted(src, start, end);
      // Up to 15 characters (sign included) is always a safe integer, written as is by every mode.
      return (src, start, end, out) =>
        end - start <= 15 ? out.bytes(src, start, end) : viaString(src, start, end, out);
    case 'decimal':
    case 'date':
    case 'time':
      return (src, start, end, out) => out.quoted(src, start, end);
    case 'text':
      if (type.generic === 'UUID') return (src, start, end, out) => out.quoted(src, start, end);
      return (src, start, end, out) => {
        if (!out.asciiString(src, start, end)) viaString(src, start, end, out);
      };
    case 'bool':
      return (src, start, _end, out) => out.ascii(src[start] === 0x74 ? 'true' : 'false');
    default:
      return viaString;
  }
}

/** The prefixes and encoders of one result's rows (see PgStreamQuery). */
export interface RowPlan {
  /** The ASCII text before each value: `{"name":`, `,"name":`, `[` or `,`. */
  prefixes: Buffer[];
  encoders: ByteEncoder[];
  /** `}` or `]`. */
  close: string;
}

/**
 * One DataRow body (`Int16` count, then per value `Int32` length or -1 and the bytes) as one NDJSON line.
 * Throws what an encoder throws; the caller truncates the buffer to before the row.
 */
export function encodeDataRow(src: Buffer, start: number, plan: RowPlan, out: NdjsonOut): void {
  const n = src.readInt16BE(start);
  let at = start + 2;
  const { prefixes, encoders } = plan;
  if (n === 0) out.ascii(plan.close === ']' ? '[' : '{');
  for (let i = 0; i < n; i++) {
    out.raw(prefixes[i] as Buffer);
    const len = src.readInt32BE(at);
    at += 4;
    if (len < 0) {
      out.ascii('null');
      continue;
    }
    (encoders[i] as ByteEncoder)(src, at, at + len, out);
    at += len;
  }
  out.ascii(plan.close === ']' ? ']\n' : '}\n');
}

/** A DataRow body's values as text (null for NULL): the first row, kept for lastInsertId. */
export function dataRowTexts(src: Buffer, start: number): Array<string | null> {
  const n = src.readInt16BE(start);
  let at = start + 2;
  const out: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const len = src.readInt32BE(at);
    at += 4;
    out.push(len < 0 ? null : src.toString('utf8', at, at + len));
    if (len > 0) at += len;
  }
  return out;
}

type DataListener = (chunk: Buffer) => void;

/** The socket as the tap sees it. */
export interface TappableSocket {
  listeners(event: 'data'): Array<(...args: never[]) => unknown>;
  removeListener(event: 'data', listener: DataListener): unknown;
  on(event: 'data', listener: DataListener): unknown;
}

const DATA_ROW = 0x44; // 'D'

/** Takes DataRow messages off a pg connection's socket while one streamed statement runs. */
export class DataRowTap {
  private pg: DataListener | null = null;
  /** The start of a message not complete yet, and how many bytes it needs in all (0: header incomplete). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private partialNeed = 0;
  private removed = false;
  private readonly listener: DataListener = (chunk) => this.data(chunk);

  /** @param onRow gets each DataRow's body (`src[start, end)`), synchronously, in order */
  constructor(
    private readonly socket: TappableSocket,
    private readonly onRow: (src: Buffer, start: number, end: number) => void,
  ) {}

  /** Replaces pg's listener; false (nothing changed) when the socket does not look as expected. */
  install(): boolean {
    const ls = this.socket.listeners('data');
    if (ls.length !== 1) return false;
    this.pg = ls[0] as DataListener;
    this.socket.removeListener('data', this.pg);
    this.socket.on('data', this.listener);
    return true;
  }

  /** Gives the socket back to pg; bytes not parsed yet go to whoever listens from now on. */
  remove(): void {
    if (this.removed || !this.pg) return;
    this.removed = true;
    this.socket.removeListener('data', this.listener);
    this.socket.on('data', this.pg);
    if (this.partial.length > 0) {
      // Only when the statement settled outside a read (the connection was lost): pg gets what is left.
      const rest = Buffer.concat(this.partial);
      this.partial = [];
      this.forward(rest);
    }
  }

  private forward(rest: Buffer): void {
    if (rest.length === 0) return;
    for (const l of this.socket.listeners('data')) (l as DataListener).call(this.socket, rest);
  }

  private data(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial.length > 0) {
      // A long message arrives in many reads: join them once it is complete, not at every read.
      this.partial.push(chunk);
      this.partialBytes += chunk.length;
      if (this.partialNeed === 0 && this.partialBytes >= 5) {
        const head = Buffer.concat(this.partial);
        this.partial = [head];
        this.partialNeed = 1 + head.readInt32BE(1);
      }
      if (this.partialNeed === 0 || this.partialBytes < this.partialNeed) return;
      buf = Buffer.concat(this.partial, this.partialBytes);
      this.partial = [];
      this.partialBytes = 0;
      this.partialNeed = 0;
    }
    const pg = this.pg as DataListener;
    const len = buf.length;
    let off = 0;
    let other = -1; // start of a run of whole messages for pg
    while (off + 5 <= len) {
      const size = buf.readInt32BE(off + 1);
      const end = off + 1 + size;
      if (end > len) break;
      if (buf[off] === DATA_ROW) {
        if (other >= 0) {
          pg.call(this.socket, buf.subarray(other, off));
          other = -1;
          if (this.removed) {
            this.forward(buf.subarray(off));
            return;
          }
        }
        this.onRow(buf, off + 5, end);
      } else if (other < 0) {
        other = off;
      }
      off = end;
    }
    if (other >= 0) {
      pg.call(this.socket, buf.subarray(other, off));
      if (this.removed) {
        this.forward(buf.subarray(off));
        return;
      }
    }
    if (off < len) {
      if (this.removed) {
        this.forward(buf.subarray(off));
        return;
      }
      const rest = Buffer.from(buf.subarray(off));
      this.partial = [rest];
      this.partialBytes = rest.length;
      this.partialNeed = rest.length >= 5 ? 1 + rest.readInt32BE(1) : 0;
    }
  }
}
