import { SqlgateError } from '../../errors.js';
import { stringifyExact } from '../json-text.js';
import { NdjsonOut } from '../ndjson-out.js';
import {
  type RowSink,
  STREAM_CHUNK_CHARS,
  STREAM_FETCH_ROWS,
  STREAM_PIECE_BYTES,
  type StreamExecOptions,
  type StreamSummary,
} from '../row-stream.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { JsonValue } from '../types.js';
import {
  type ConnState,
  KILL_GRACE_MS,
  notSent,
  type OkHeader,
  type RawCommand,
  type RawConnection,
  rawIsDead,
  STATUS,
  type StatementServices,
} from './mysql-raw.js';
import { type ColumnReader, decodeRow, ROW_TAKEN, type RowPacket } from './mysql-rows.js';
import { type ColumnPlan, DDL_COMMANDS, encodeId, planColumns, UNTRACKED_STATE } from './mysql-statement.js';
import { type CellWriter, cellWriterFor, writeRow } from './mysql-stream-bytes.js';
import type { FieldInfo } from './mysql-types.js';
import type { Encoder, MysqlParam } from './mysql-values.js';
import { decodeRowsWith, watchEofStatus } from './mysql2-internals.js';

/**
 * A streamed MySQL/MariaDB statement: mysql2's row events (binary rows decoded straight from the packet,
 * as in mysql-statement.ts) become NDJSON pieces for the sink, and when the sink is full the connection's
 * socket is paused (mysql2 `pause()`), so the server blocks on its send and the gateway holds at most one
 * piece and one socket read. An abort resumes the socket (a server blocked on its send cannot see a kill)
 * and sends `KILL QUERY` from the control connection; the rest of the result is dropped as it drains, and
 * the connection stays usable. A statement whose kill does not land within KILL_GRACE_MS loses its
 * connection instead.
 *
 * Before it runs, the statement is prepared (mysql2 caches it for the execute that follows) so that DATETIME
 * columns the catalog marks as TIMESTAMP are known before the header goes out.
 */

/** The members of mysql2's connection used here beyond RawConnection. */
interface PausableConnection extends RawConnection {
  pause(): void;
  resume(): void;
  prepare(sql: string, cb: (err: unknown, statement: { columns?: FieldInfo[] }) => void): void;
}

/** Prepares `sql` (cached by mysql2) and looks up the TIMESTAMP markers of its DATETIME columns. */
async function preflight(
  raw: PausableConnection,
  state: ConnState,
  sql: string,
  opts: StreamExecOptions,
  services: StatementServices,
): Promise<void> {
  const fields = await new Promise<FieldInfo[]>((resolve, reject) => {
    raw.prepare(sql, (err, statement) =>
      err ? reject(services.mapError(err)) : resolve(statement.columns ?? []),
    );
  });
  const plan = planColumns(fields, { ...opts, maxRows: 0, maxResponseBytes: 0 }, services);
  if (plan.pending.length === 0) return;
  const tables = new Map<string, [string, string]>();
  for (const p of plan.pending) tables.set(`${p.schema}.${p.table}`, [p.schema, p.table]);
  await services.timestampColumns(raw, state, [...tables.values()]);
}

export async function streamStatement(
  conn: RawConnection,
  state: ConnState,
  sql: string,
  values: MysqlParam[] | null,
  opts: StreamExecOptions,
  services: StatementServices,
  sink: RowSink,
): Promise<StreamSummary> {
  const raw = conn as PausableConnection;
  if (rawIsDead(raw, state)) throw notSent(services.backend);
  const command = leadingKeyword(sql);
  if (UNTRACKED_STATE.test(sql)) state.dirty = true;
  if (values) await preflight(raw, state, sql, opts, services);
  const out = await run(raw, state, sql, values, opts, services, sink);
  if (DDL_COMMANDS.has(command)) services.schemaChanged();
  let affectedRows = 0;
  let lastInsertId: string | number | null = null;
  if (out.header) {
    affectedRows = Number(out.header.affectedRows);
    const id = String(out.header.insertId ?? '0');
    if ((command === 'INSERT' || command === 'REPLACE') && id !== '0') {
      lastInsertId = opts.int64 === 'string' ? id : encodeId(id);
    }
  }
  return { rowCount: out.rowCount, affectedRows, lastInsertId, command };
}

/** One row of NDJSON: the binary packet's cells through the column readers' text form. */
function rowLine(p: RowPacket, readers: ColumnReader[], prefixes: string[], close: string): string {
  const buf = p.buffer;
  const n = readers.length;
  const bitmap = p.offset + 1;
  p.offset = bitmap + ((n + 9) >> 3);
  if (n === 0) return close === '}' ? '{}\n' : '[]\n';
  let line = '';
  for (let i = 0; i < n; i++) {
    const bit = i + 2;
    const isNull = (buf[bitmap + (bit >> 3)] as number) & (1 << (bit & 7));
    line += (prefixes[i] as string) + (isNull ? 'null' : (readers[i] as ColumnReader).text(p));
  }
  return `${line}${close}\n`;
}

function run(
  raw: PausableConnection,
  state: ConnState,
  sql: string,
  values: MysqlParam[] | null,
  opts: StreamExecOptions,
  services: StatementServices,
  sink: RowSink,
): Promise<{ rowCount: number; header: OkHeader | null }> {
  return new Promise((resolve, reject) => {
    const threadId = raw.threadId;
    const objects = opts.rowMode !== 'array';
    let setIndex = -1;
    let plan: ColumnPlan | null = null;
    let planSet = -1;
    let prefixes: string[] | null = null;
    // The byte path (binary rows with prefixes): cell writers, prefixes as bytes, the piece's buffer.
    let writers: CellWriter[] | null = null;
    let prefixBytes: Buffer[] = [];
    const out = new NdjsonOut();
    let header: OkHeader | null = null;
    let failure: SqlgateError | null = null;
    let driverError: unknown = null;
    let killing: Promise<void> | null = null;
    let paused = false;
    let settled = false;
    let ended = false;
    let grace: NodeJS.Timeout | undefined;
    let piece = '';
    let pieceRows = 0;
    let rowCount = 0;

    const flush = () => {
      if (pieceRows === 0 || sink.signal.aborted) return;
      const text: string | Buffer = writers ? out.take() : piece;
      const n = pieceRows;
      piece = '';
      pieceRows = 0;
      rowCount += n;
      if (sink.write(text, n) || paused) return;
      // The client reads slower than the database sends: stop reading the socket until it drains.
      paused = true;
      raw.pause();
      sink.ready().then(() => {
        if (!paused) return;
        paused = false;
        raw.resume();
      });
    };
    const cleanup = () => {
      clearTimeout(grace);
      sink.signal.removeEventListener('abort', onAbort);
      raw.removeListener('error', onConnectionLost);
      raw.removeListener('end', onConnectionLost);
      state.abortPending = null;
    };
    const settle = (err: SqlgateError | null) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (err) reject(err);
      else resolve({ rowCount, header });
    };
    const cancelled = () =>
      new SqlgateError('STATEMENT_TIMEOUT', 'the statement was cancelled: the stream ended early', {
        backend: services.backend,
      });
    const abandon = (err: SqlgateError) => {
      state.dead = true;
      raw.destroy();
      settle(err);
    };
    const onAbort = () => {
      if (paused) {
        paused = false;
        raw.resume();
      }
      piece = '';
      pieceRows = 0;
      if (ended || killing) return;
      if (threadId === null) return abandon(cancelled());
      killing = services.killQuery(threadId).catch(() => {
        if (!ended) abandon(cancelled());
      });
      grace = setTimeout(() => {
        if (!settled) abandon(cancelled());
      }, KILL_GRACE_MS);
    };
    const onConnectionLost = (err?: unknown) => {
      state.dead = true;
      if (ended) return;
      ended = true;
      settle(failure ?? (err ? services.mapError(err) : notSent(services.backend)));
    };
    state.abortPending = (err) => {
      if (ended) return;
      ended = true;
      settle(err);
    };
    raw.once('error', onConnectionLost);
    raw.once('end', onConnectionLost);

    const cmd: RawCommand = values
      ? raw.execute({ sql, values, rowsAsArray: true })
      : raw.query({ sql, rowsAsArray: true });
    watchEofStatus(cmd, !!values, (flags) => {
      state.status = flags;
    });
    const fail = (err: unknown) => {
      failure = err instanceof SqlgateError ? err : services.mapError(err);
      piece = '';
      pieceRows = 0;
      out.truncate(0);
      setImmediate(onAbort);
    };
    const take = (line: string) => {
      piece += line;
      if (++pieceRows >= STREAM_FETCH_ROWS || piece.length >= STREAM_CHUNK_CHARS) flush();
    };

    if (values) {
      const decoder = {
        next(packet: RowPacket): typeof ROW_TAKEN {
          if (failure || !plan || setIndex !== planSet || sink.signal.aborted) return ROW_TAKEN;
          if (writers) {
            const mark = out.length;
            try {
              writeRow(packet, writers, prefixBytes, objects ? '}' : ']', out);
            } catch (err) {
              out.truncate(mark);
              fail(err);
              return ROW_TAKEN;
            }
            pieceRows++;
            if (out.length >= STREAM_PIECE_BYTES) flush();
            return ROW_TAKEN;
          }
          try {
            take(
              prefixes
                ? rowLine(packet, plan.readers, prefixes, objects ? '}' : ']')
                : `${stringifyExact(decodeRow(packet, plan.readers, objects ? plan.names : null, plan.meter))}\n`,
            );
          } catch (err) {
            fail(err);
          }
          return ROW_TAKEN;
        },
      };
      decodeRowsWith(cmd, decoder);
    }

    cmd.on('fields', (fields: FieldInfo[] | undefined) => {
      setIndex++;
      if (!fields || plan || failure) return;
      try {
        plan = planColumns(fields, { ...opts, maxRows: 0, maxResponseBytes: 0 }, services);
        planSet = setIndex;
        const names = plan.names;
        const unique = new Set(names).size === names.length && !names.includes('__proto__');
        if (!objects) prefixes = names.map((_, i) => (i === 0 ? '[' : ','));
        else if (unique) prefixes = names.map((n, i) => `${i === 0 ? '{' : ','}${JSON.stringify(n)}:`);
        const ascii = prefixes?.every((x) => /^[\x20-\x7e]*$/.test(x));
        if (values && prefixes && ascii) {
          const p = plan;
          prefixBytes = prefixes.map((x) => Buffer.from(x, 'latin1'));
          writers = fields.map((f, i) =>
            cellWriterFor(
              f,
              (p.columns[i] as { type: import('../types.js').GenericType }).type,
              opts.int64,
              p.readers[i] as ColumnReader,
            ),
          );
        }
        sink.columns(plan.columns);
      } catch (err) {
        fail(err);
      }
    });
    cmd.on('result', (r: unknown) => {
      if (r === ROW_TAKEN) return;
      if (!Array.isArray(r)) {
        const ok = r as OkHeader;
        header = ok;
        if (ok.serverStatus !== undefined) state.status = ok.serverStatus;
        if (state.status & STATUS.SESSION_STATE_CHANGED) state.dirty = true;
        return;
      }
      if (failure || !plan || setIndex !== planSet || sink.signal.aborted) return;
      const { encoders, names } = plan;
      try {
        const row: JsonValue[] = r.map((v, i) =>
          v === null || v === undefined ? null : (encoders[i] as Encoder)(v),
        );
        if (!objects) return take(`${stringifyExact(row)}\n`);
        const obj: Record<string, JsonValue> = {};
        for (let i = 0; i < row.length; i++) obj[names[i] as string] = row[i] as JsonValue;
        take(`${stringifyExact(obj)}\n`);
      } catch (err) {
        fail(err);
      }
    });
    cmd.on('error', (err: unknown) => {
      driverError = err;
    });
    cmd.on('end', () => {
      if (ended) return;
      ended = true;
      // The rows before an error reach the client first.
      if (!failure) flush();
      if (paused) {
        paused = false;
        raw.resume();
      }
      const finish = () => {
        if (failure) return settle(failure);
        if (sink.signal.aborted) return settle(cancelled());
        if (driverError) return settle(services.mapError(driverError));
        settle(null);
      };
      if (killing) killing.then(finish, finish);
      else finish();
    });
    if (sink.signal.aborted) onAbort();
    else sink.signal.addEventListener('abort', onAbort, { once: true });
  });
}
