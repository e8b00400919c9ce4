import type Database from 'better-sqlite3';
import { stringifyExact } from '../json-text.js';
import { STREAM_CHUNK_CHARS, STREAM_FETCH_ROWS } from '../row-stream.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { Column, GenericType, JsonValue } from '../types.js';
import { coerceValue } from '../value-mapper.js';
import {
  bindWireParam,
  fromSqliteRaw,
  fromSqliteValue,
  type SqliteBindValue,
  sqliteGenericType,
  sqliteValueType,
  type WireParam,
} from './sqlite-types.js';
import type { WorkerExecOptions } from './sqlite-worker.js';

/**
 * The worker's side of a streamed statement: the statement iterator stays open across messages and the
 * worker sends one chunk of NDJSON rows per credit the main thread grants (`more`), so at most
 * STREAM_WINDOW chunks are ever in flight and an unread stream costs nothing but the open statement.
 * Between chunks the worker is back in its event loop, where `stop` closes the iterator at once.
 */

/** Chunks the worker may send before the main thread acknowledges one. */
export const STREAM_WINDOW = 2;

export type StreamRequest =
  | { id: number; op: 'stream'; sql: string; params: WireParam[]; opts: WorkerExecOptions }
  | { id: number; op: 'more' }
  | { id: number; op: 'stop' };

export type StreamMessage =
  | { id: number; stream: 'columns'; columns: Column[] }
  | { id: number; stream: 'rows'; text: string; rows: number }
  | {
      id: number;
      stream: 'end';
      inTransaction: boolean;
      summary: {
        rowCount: number;
        affectedRows: number;
        lastInsertId: string | number | null;
        command: string;
      };
    };

export function isStreamRequest(msg: { op: string }): msg is StreamRequest {
  return msg.op === 'stream' || msg.op === 'more' || msg.op === 'stop';
}

interface Open {
  id: number;
  iter: IterableIterator<unknown[]>;
  stmt: Database.Statement;
  credits: number;
  rowCount: number;
  command: string;
  opts: WorkerExecOptions;
  declared: Array<GenericType | null>;
  inferred: Array<GenericType | null>;
  targets: Array<GenericType | undefined>;
  names: string[];
  meta: Database.ColumnDefinition[];
  columnsSent: boolean;
}

export interface StreamHost {
  db: Database.Database;
  /** The worker's checked, cached prepare (refuses writes on a read-only connection). */
  prepare(sql: string): Database.Statement;
  post(msg: StreamMessage): void;
}

let open: Open | null = null;

/** Handles one stream message; throws what `handle` would map to an error response. */
export function handleStream(host: StreamHost, msg: StreamRequest): void {
  if (msg.op === 'stop') {
    if (open?.id === msg.id) finish(host, open);
    return;
  }
  if (msg.op === 'more') {
    if (open?.id !== msg.id) return;
    open.credits++;
    pump(host, open);
    return;
  }
  if (open) finish(host, open);
  const stmt = host.prepare(msg.sql);
  const bound: SqliteBindValue[] = msg.params.map((p) => bindWireParam(p));
  const command = leadingKeyword(msg.sql);
  const insert = command === 'INSERT' || command === 'REPLACE';
  if (!stmt.reader) {
    const info = stmt.run(bound);
    const dml = insert || command === 'UPDATE' || command === 'DELETE';
    host.post({
      id: msg.id,
      stream: 'end',
      inTransaction: host.db.inTransaction,
      summary: {
        rowCount: 0,
        affectedRows: dml ? info.changes : 0,
        lastInsertId:
          insert && info.changes > 0
            ? (fromSqliteValue(info.lastInsertRowid, 'BIGINT', msg.opts.int64) as string | number)
            : null,
        command,
      },
    });
    return;
  }
  const meta = stmt.columns();
  const declared = meta.map((c) => sqliteGenericType(c.type));
  stmt.raw(true);
  let iter: IterableIterator<unknown[]>;
  try {
    iter = stmt.iterate(bound) as IterableIterator<unknown[]>;
  } catch (err) {
    stmt.raw(false);
    throw err;
  }
  open = {
    id: msg.id,
    iter,
    stmt,
    credits: STREAM_WINDOW,
    rowCount: 0,
    command,
    opts: msg.opts,
    declared,
    inferred: declared.slice(),
    targets: meta.map((c) => msg.opts.columnTypes?.[c.name]),
    names: meta.map((c) => c.name),
    meta,
    columnsSent: false,
  };
  pump(host, open);
}

/** Sends chunks while there are credits; the end when the iterator is exhausted. */
function pump(host: StreamHost, s: Open): void {
  while (s.credits > 0 && open === s) {
    const { text, rows, done, error } = chunk(s);
    if (!s.columnsSent) {
      // Columns after the first chunk: a column without a declared type takes the type of its values.
      s.columnsSent = true;
      host.post({ id: s.id, stream: 'columns', columns: columnsOf(s) });
    }
    if (rows > 0) {
      s.credits--;
      s.rowCount += rows;
      host.post({ id: s.id, stream: 'rows', text, rows });
    }
    // The rows before a failing one reach the client first, then the error does.
    if (error !== undefined) throw error;
    if (done) {
      finish(host, s);
      return;
    }
  }
}

function columnsOf(s: Open): Column[] {
  return s.meta.map((c, i) => ({
    name: c.name,
    type: s.targets[i] ?? s.inferred[i] ?? 'OTHER',
    dbType: c.type ?? '',
    nullable: null,
  }));
}

/** Up to STREAM_FETCH_ROWS rows (or STREAM_CHUNK_CHARS characters), encoded as execute encodes them. */
function chunk(s: Open): { text: string; rows: number; done: boolean; error?: unknown } {
  const { declared, inferred, targets, names, opts } = s;
  let text = '';
  let rows = 0;
  while (rows < STREAM_FETCH_ROWS && text.length < STREAM_CHUNK_CHARS) {
    let next: IteratorResult<unknown[]>;
    try {
      next = s.iter.next();
    } catch (error) {
      return { text, rows, done: false, error };
    }
    if (next.done) return { text, rows, done: true };
    const raw = next.value;
    const out: JsonValue[] = [];
    for (let i = 0; i < raw.length; i++) {
      const value = raw[i];
      if (inferred[i] === null) inferred[i] = sqliteValueType(value);
      // valueMode "raw": as stored, exactly as a buffered execute gives it (an ORM pages with streams).
      let v =
        opts.valueMode === 'raw'
          ? fromSqliteRaw(value)
          : fromSqliteValue(value, declared[i] ?? null, opts.int64, opts.jsonNumbers);
      const target = targets[i];
      if (target) v = coerceValue(v, target, opts.int64, names[i] as string, opts.jsonNumbers);
      out.push(v);
    }
    if (opts.rowMode === 'array') {
      text += `${stringifyExact(out)}\n`;
    } else {
      const obj: Record<string, JsonValue> = {};
      for (let i = 0; i < out.length; i++) obj[names[i] as string] = out[i] as JsonValue;
      text += `${stringifyExact(obj)}\n`;
    }
    rows++;
  }
  return { text, rows, done: false };
}

/** Closes the iterator (finalizing the read) and reports the end. */
function finish(host: StreamHost, s: Open): void {
  if (open === s) open = null;
  s.iter.return?.();
  s.stmt.raw(false);
  const insert = s.command === 'INSERT' || s.command === 'REPLACE';
  const dml = insert || s.command === 'UPDATE' || s.command === 'DELETE';
  let lastInsertId: string | number | null = null;
  if (insert && s.rowCount > 0) {
    const id = host.db.prepare('SELECT last_insert_rowid()').pluck().get();
    lastInsertId = fromSqliteValue(id, 'BIGINT', s.opts.int64) as string | number;
  }
  host.post({
    id: s.id,
    stream: 'end',
    inTransaction: host.db.inTransaction,
    summary: { rowCount: s.rowCount, affectedRows: dml ? s.rowCount : 0, lastInsertId, command: s.command },
  });
}

/** A failure while iterating: the iterator is closed and the error goes to the main thread. */
export function abandonStream(id: number): void {
  if (open?.id !== id) return;
  const s = open;
  open = null;
  try {
    s.iter.return?.();
  } catch {
    // The statement failed already; closing it cannot add anything.
  }
  s.stmt.raw(false);
}
