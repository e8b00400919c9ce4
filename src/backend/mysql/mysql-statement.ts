import { SqlgateError } from '../../errors.js';
import { stringifyExact } from '../json-text.js';
import { approxJsonSize, resultTooLargeMessage } from '../result-limits.js';
import { fromWire, MIN_WIRE_ROWS } from '../rows-json.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { Column, ExecOptions, GenericType, JsonValue, QueryResult } from '../types.js';
import { encodeInt64 } from '../value-mapper.js';
import {
  type ConnState,
  KILL_GRACE_MS,
  notSent,
  type OkHeader,
  type RawConnection,
  rawIsDead,
  STATUS,
  type StatementServices,
} from './mysql-raw.js';
import {
  type ColumnReader,
  columnReader,
  decodeRow,
  ROW_TAKEN,
  type RowMeter,
  type RowPacket,
  RowTextWriter,
} from './mysql-rows.js';
import { type FieldInfo, FLAG, mysqlDbType, mysqlGenericType, T } from './mysql-types.js';
import { columnEncoder, type Encoder, type MysqlParam } from './mysql-values.js';
import { decodeRowsWith, watchEofStatus } from './mysql2-internals.js';

/**
 * Runs one statement on a mysql2 connection and streams its rows into JSON values: the row limit and the
 * response-size limit stop reading early, and a statement that overruns its timeout (or whose client went
 * away) is stopped with `KILL QUERY <thread id>` from a second connection, after which the connection stays
 * usable. The transaction status is read from the server status flags of every OK/EOF packet.
 */

/** Session state MySQL does not report through SERVER_SESSION_STATE_CHANGED; the connection is reset after. */
export const UNTRACKED_STATE =
  /:=|\bINTO\s+@|\b(?:GET_LOCK|GET_ADVISORY_LOCK)\s*\(|^\s*(?:LOCK|HANDLER|CALL|PREPARE|EXECUTE|XA|FLUSH)\b/i;

export const DDL_COMMANDS = new Set(['CREATE', 'ALTER', 'DROP', 'RENAME']);

export interface ColumnPlan {
  columns: Column[];
  encoders: Encoder[];
  /** Binary-protocol readers: wire bytes -> the same values the encoders give (see mysql-rows.ts). */
  readers: ColumnReader[];
  meter: RowMeter;
  names: string[];
  /** Columns that are DATETIME now but may be TIMESTAMP once the catalog answers: index, schema, table, column. */
  pending: Array<{ index: number; schema: string; table: string; column: string }>;
}

export function planColumns(fields: FieldInfo[], opts: ExecOptions, services: StatementServices): ColumnPlan {
  const columns: Column[] = [];
  const encoders: Encoder[] = [];
  const readers: ColumnReader[] = [];
  const meter: RowMeter = { bytes: 0, rowBytes: 0 };
  const names: string[] = [];
  const pending: ColumnPlan['pending'] = [];
  fields.forEach((f, index) => {
    let native: GenericType = mysqlGenericType(f);
    const target = opts.columnTypes?.[f.name];
    if (native === 'DATETIME' && f.columnType === T.DATETIME && f.schema && f.orgTable && f.orgName) {
      const known = services.knownTimestampColumns(f.schema, f.orgTable);
      if (known?.has(f.orgName)) native = 'TIMESTAMP';
      else if (!known && !target)
        pending.push({ index, schema: f.schema, table: f.orgTable, column: f.orgName });
    }
    columns.push({
      name: f.name,
      type: target ?? native,
      dbType: mysqlDbType(f),
      nullable: (f.flags & FLAG.NOT_NULL) === 0,
    });
    const encoder = columnEncoder(f, native, target, opts.int64, opts.jsonNumbers);
    encoders.push(encoder);
    readers.push(columnReader(f, native, target, opts.int64, encoder, meter));
    names.push(f.name);
  });
  return { columns, encoders, readers, meter, names, pending };
}

function tooLarge(what: string): SqlgateError {
  return new SqlgateError('RESULT_TOO_LARGE', resultTooLargeMessage(what));
}

/** The raw outcome of one statement before metadata fix-ups. */
interface Outcome {
  plan: ColumnPlan | null;
  /** Encoded rows: arrays while catalog look-ups are pending, otherwise already in the requested row mode. */
  rows: Array<JsonValue[] | Record<string, JsonValue>>;
  /** Instead of `rows`, for larger binary-protocol results: the rows as JSON text (rows-json.ts). */
  text: RowTextWriter | null;
  header: OkHeader | null;
}

/**
 * Sends the statement (binary protocol when `values` is given, text protocol otherwise) and collects its
 * first result set. Resolves after any KILL it issued has completed, so a kill can never hit the next
 * statement on the connection.
 */
function send(
  raw: RawConnection,
  state: ConnState,
  sql: string,
  values: MysqlParam[] | null,
  opts: ExecOptions,
  services: StatementServices,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    if (rawIsDead(raw, state)) {
      reject(notSent(services.backend));
      return;
    }
    const threadId = raw.threadId;
    let setIndex = -1;
    let plan: ColumnPlan | null = null;
    let planSet = -1;
    const rows: Outcome['rows'] = [];
    let text: RowTextWriter | null = null;
    let bytes = 0;
    let header: OkHeader | null = null;
    let failure: SqlgateError | null = null;
    let driverError: unknown = null;
    let killReason: 'timeout' | 'aborted' | 'stop' | null = null;
    let killing: Promise<void> | null = null;
    let settled = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const rowMode = opts.rowMode;

    const cleanup = () => {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      opts.signal?.removeEventListener('abort', onAbort);
      raw.removeListener('error', onConnectionLost);
      raw.removeListener('end', onConnectionLost);
      state.abortPending = null;
    };
    const settle = (err: SqlgateError | null) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (err) reject(err);
      else resolve({ plan, rows, text, header });
    };
    /** Ends the statement from our side: the connection is closed, nothing more will arrive. */
    const abandon = (err: SqlgateError) => {
      state.dead = true;
      raw.destroy();
      settle(err);
    };
    const timeoutError = () =>
      killReason === 'aborted'
        ? new SqlgateError('STATEMENT_TIMEOUT', 'the statement was cancelled because the client went away', {
            backend: services.backend,
          })
        : new SqlgateError(
            'STATEMENT_TIMEOUT',
            `the statement ran longer than ${opts.timeoutMs} ms and was stopped`,
            { backend: services.backend },
          );
    const requestKill = (reason: 'timeout' | 'aborted' | 'stop') => {
      if (killReason || ended || settled) return;
      killReason = reason;
      if (threadId === null) {
        abandon(failure ?? timeoutError());
        return;
      }
      killing = services.killQuery(threadId).catch(() => {
        // No second connection to kill from: closing this one is the only way to stop the statement.
        if (!ended) abandon(failure ?? timeoutError());
      });
      // Neither the statement nor the KILL finished in time: close the connection (a KILL that lands later
      // must not hit another statement) and answer now.
      grace = setTimeout(() => {
        if (!settled) abandon(failure ?? timeoutError());
      }, KILL_GRACE_MS);
    };
    const onAbort = () => requestKill('aborted');
    const onConnectionLost = (err?: unknown) => {
      state.dead = true;
      if (!ended) {
        ended = true;
        settle(
          failure ??
            (killReason && killReason !== 'stop'
              ? timeoutError()
              : err
                ? services.mapError(err)
                : new SqlgateError('BACKEND_UNAVAILABLE', 'the MySQL connection was closed', {
                    backend: services.backend,
                  })),
        );
      }
    };
    state.abortPending = (err) => {
      if (!ended) {
        ended = true;
        settle(err);
      }
    };
    raw.once('error', onConnectionLost);
    raw.once('end', onConnectionLost);

    const cmd = values
      ? raw.execute({ sql, values, rowsAsArray: true })
      : raw.query({ sql, rowsAsArray: true });

    // mysql2 reports the status flags of OK packets but not of the EOF packet that ends a result set;
    // read them as the packet goes by so txStatus() stays truthful after a SELECT (autocommit=0 begins one).
    watchEofStatus(cmd, values !== null, (flags) => {
      state.status = flags;
    });

    if (values) {
      // Binary rows are decoded here, straight from the packet, instead of by mysql2's row parser; the
      // decoder keeps them and mysql2 emits only a marker per row.
      const decoder = {
        next(packet: RowPacket): typeof ROW_TAKEN {
          if (failure || !plan || setIndex !== planSet) return ROW_TAKEN;
          try {
            if (rows.length + (text?.rows ?? 0) >= opts.maxRows) throw tooLarge(`maxRows (${opts.maxRows})`);
            if (text) {
              bytes += text.push(packet, plan.readers);
            } else {
              const objects = rowMode !== 'array' && plan.pending.length === 0;
              rows.push(decodeRow(packet, plan.readers, objects ? plan.names : null, plan.meter));
              bytes += plan.meter.rowBytes;
              if (
                rows.length === MIN_WIRE_ROWS &&
                plan.pending.length === 0 &&
                RowTextWriter.fits(plan.names, objects)
              ) {
                // A larger result: from here on rows go straight to JSON text, which the response splices
                // in (rows-json.ts); no row objects to build, keep and stringify afterwards.
                text = new RowTextWriter(plan.names, objects);
                for (const r of rows) text.pushText(stringifyExact(r));
                rows.length = 0;
              }
            }
            if (bytes > opts.maxResponseBytes) throw tooLarge(`maxResponseBytes (${opts.maxResponseBytes})`);
          } catch (err) {
            failure = err instanceof SqlgateError ? err : services.mapError(err);
            rows.length = 0;
            text = null;
            // Stop the statement rather than read (and drop) the rest of a large result.
            setImmediate(() => requestKill('stop'));
          }
          return ROW_TAKEN;
        },
      };
      decodeRowsWith(cmd, decoder);
    }

    cmd.on('fields', (fields: FieldInfo[] | undefined) => {
      setIndex++;
      if (fields && !plan && !failure) {
        try {
          plan = planColumns(fields, opts, services);
          planSet = setIndex;
        } catch (err) {
          failure = services.mapError(err);
          requestKill('stop');
        }
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
      if (failure || !plan || setIndex !== planSet) return;
      try {
        if (rows.length >= opts.maxRows) throw tooLarge(`maxRows (${opts.maxRows})`);
        const { encoders, names } = plan;
        const out: JsonValue[] = new Array(r.length);
        for (let i = 0; i < r.length; i++) {
          const value = r[i];
          const v = value === null || value === undefined ? null : (encoders[i] as Encoder)(value);
          bytes += approxJsonSize(v);
          out[i] = v;
        }
        if (bytes > opts.maxResponseBytes) throw tooLarge(`maxResponseBytes (${opts.maxResponseBytes})`);
        if (rowMode === 'array' || plan.pending.length > 0) {
          rows.push(out);
        } else {
          const obj: Record<string, JsonValue> = {};
          for (let i = 0; i < out.length; i++) obj[names[i] as string] = out[i] as JsonValue;
          rows.push(obj);
        }
      } catch (err) {
        failure = err instanceof SqlgateError ? err : services.mapError(err);
        rows.length = 0;
        // Stop the statement rather than read (and drop) the rest of a large result.
        setImmediate(() => requestKill('stop'));
      }
    });
    cmd.on('error', (err: unknown) => {
      driverError = err;
    });
    cmd.on('end', () => {
      if (ended) return;
      ended = true;
      const finish = () => {
        if (failure) return settle(failure);
        if (driverError) {
          const mapped = services.mapError(driverError);
          if (killReason && killReason !== 'stop' && mapped.code === 'STATEMENT_TIMEOUT')
            return settle(timeoutError());
          return settle(mapped);
        }
        // Without a driver error the statement finished before any kill reached it: its result stands.
        settle(null);
      };
      if (killing) killing.then(finish, finish);
      else finish();
    });

    if (opts.timeoutMs > 0) timer = setTimeout(() => requestKill('timeout'), opts.timeoutMs);
    if (opts.signal) {
      if (opts.signal.aborted) requestKill('aborted');
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * Runs one statement and builds its QueryResult. `values` null uses the text protocol (statements the
 * binary protocol cannot prepare); otherwise the statement is prepared once per connection and executed.
 */
export async function runStatement(
  raw: RawConnection,
  state: ConnState,
  sql: string,
  values: MysqlParam[] | null,
  opts: ExecOptions,
  services: StatementServices,
): Promise<QueryResult> {
  const started = performance.now();
  const command = leadingKeyword(sql);
  if (UNTRACKED_STATE.test(sql)) state.dirty = true;
  const { plan, rows, text, header } = await send(raw, state, sql, values, opts, services);
  if (DDL_COMMANDS.has(command)) services.schemaChanged();

  let columns: Column[] = [];
  let outRows: QueryResult['rows'] = rows;
  if (plan) {
    columns = plan.columns;
    if (plan.pending.length > 0) {
      const tables = new Map<string, [string, string]>();
      for (const p of plan.pending) tables.set(`${p.schema}.${p.table}`, [p.schema, p.table]);
      const marked = await services.timestampColumns(raw, state, [...tables.values()]);
      for (const p of plan.pending) {
        if (!marked.get(`${p.schema}.${p.table}`)?.has(p.column)) continue;
        const col = columns[p.index] as Column;
        col.type = 'TIMESTAMP';
        for (const row of rows as JsonValue[][]) {
          const v = row[p.index];
          if (typeof v === 'string') row[p.index] = `${v}+00:00`;
        }
      }
      if (opts.rowMode === 'object') {
        const names = plan.names;
        outRows = (rows as JsonValue[][]).map((arr) => {
          const obj: Record<string, JsonValue> = {};
          for (let i = 0; i < arr.length; i++) obj[names[i] as string] = arr[i] as JsonValue;
          return obj;
        });
      }
    }
  }
  let affectedRows = 0;
  let lastInsertId: string | number | null = null;
  if (header) {
    affectedRows = Number(header.affectedRows);
    const id = String(header.insertId ?? '0');
    if ((command === 'INSERT' || command === 'REPLACE') && id !== '0') {
      lastInsertId = opts.int64 === 'number' ? encodeId(id) : encodeInt64(id, opts.int64);
    }
  }
  const result: QueryResult = {
    columns,
    rows: outRows,
    rowCount: plan ? rows.length : 0,
    affectedRows,
    lastInsertId,
    command,
    durationMs: performance.now() - started,
  };
  if (!text) return result;
  result.rowCount = text.rows;
  return fromWire({ ...result, rows: [], rowsJson: text.json() });
}

export function encodeId(id: string): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n)) {
    throw new SqlgateError(
      'TYPE_CONVERSION_ERROR',
      'lastInsertId is beyond ±(2^53-1) and cannot be a JSON number; use int64: "string"',
    );
  }
  return n;
}
