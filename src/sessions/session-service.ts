import type { Principal } from '../auth/principal.js';
import type { BeginOptions } from '../backend/dialect.js';
import { prepareStatement } from '../backend/prepare.js';
import type { TxStatus } from '../backend/storage-backend.js';
import type { ExecOptions, QueryResult } from '../backend/types.js';
import { type ExplainResult, explainInSession } from '../query/explain.js';
import type { CloseReason, Session } from './session.js';
import type { SessionStore } from './session-store.js';

/*
 * What the session routes (routes/sessions.ts) do, without HTTP: each function takes the store, the
 * session id and the caller, runs in the session's queue, and returns the body the route sends. The
 * routes only parse, authorize and reply.
 */

/** How a request ends a session's transaction: COMMIT, ROLLBACK, or neither (DELETE closes the session). */
export type EndAction = 'commit' | 'rollback' | 'close';

/** The answer of commit, rollback and DELETE alike (EndResultSchema in routes/session-schemas.ts). */
export interface EndResult {
  id: string;
  /** Present (true) on a commit only. A failed commit throws instead. */
  committed?: true;
  /** A transaction was open and was rolled back: by the request itself or by closing the session. */
  rolledBack: boolean;
  closed: boolean;
  transactionStatus: TxStatus;
  inTransaction: boolean;
}

interface EndPlan {
  /** The statement half of the action, run in the session's queue. */
  run(session: Session): Promise<{ rolledBack: boolean }>;
  /** Why the session closed when the action succeeded (shown to requests queued behind it). */
  closed: CloseReason;
  /** Why it closed when the action failed. */
  failed: CloseReason;
  /** Adds `committed: true` to the answer. */
  commits: boolean;
}

const END_PLANS: Record<EndAction, EndPlan> = {
  commit: {
    run: async (s) => {
      await s.commit();
      return { rolledBack: false };
    },
    closed: 'committed and closed',
    failed: 'commit failed, rolled back and closed',
    commits: true,
  },
  rollback: {
    run: (s) => s.rollback(),
    closed: 'rolled back and closed',
    failed: 'rolled back and closed',
    commits: false,
  },
  close: {
    run: async () => ({ rolledBack: false }),
    closed: 'closed by the client',
    failed: 'closed by the client',
    commits: false,
  },
};

/**
 * Commit, rollback or close, with `close` (the session ends whatever the outcome; a transaction still
 * open is rolled back by the close) or without it (the pinned connection stays for another transaction).
 * One path for all three, so they cannot drift apart.
 */
export async function endSession(
  store: SessionStore,
  id: string,
  principal: Principal,
  action: EndAction,
  close: boolean,
): Promise<EndResult> {
  const plan = END_PLANS[action];
  const committed = plan.commits ? { committed: true as const } : {};
  if (close || action === 'close') {
    const { result, rolledBack } = await store.runAndClose(id, principal, plan.closed, plan.run, plan.failed);
    return {
      id,
      ...committed,
      rolledBack: result.rolledBack || rolledBack,
      closed: true,
      transactionStatus: 'idle',
      inTransaction: false,
    };
  }
  return store.run(id, principal, async (s) => {
    const { rolledBack } = await plan.run(s);
    const tx = s.conn.txStatus();
    return { id, ...committed, rolledBack, closed: false, ...txState(tx) };
  });
}

/** The transaction fields of a session answer. */
function txState(tx: TxStatus): { transactionStatus: TxStatus; inTransaction: boolean } {
  return { transactionStatus: tx, inTransaction: tx !== 'idle' };
}

/** The body of POST /v1/sessions/:id/begin (every member optional). */
export interface BeginRequest {
  isolationLevel?: BeginOptions['isolationLevel'];
  readOnly?: boolean;
  deferrable?: boolean;
}

/** Begins a transaction on an idle session; answers the session's state. */
export function beginInSession(store: SessionStore, id: string, principal: Principal, body: BeginRequest) {
  const opts: BeginOptions = {};
  if (body.isolationLevel) opts.isolationLevel = body.isolationLevel;
  if (body.readOnly !== undefined) opts.readOnly = body.readOnly;
  if (body.deferrable !== undefined) opts.deferrable = body.deferrable;
  return store.run(id, principal, async (s) => {
    await s.begin(opts);
    return s.info();
  });
}

/** The answer of the savepoint routes. */
export interface SavepointResult {
  name: string;
  transactionStatus: TxStatus;
  inTransaction: boolean;
}

/** Takes a savepoint (named by the client, or sp_N); answers its name. */
export function createSavepoint(
  store: SessionStore,
  id: string,
  principal: Principal,
  name: string | undefined,
): Promise<SavepointResult> {
  return store.run(id, principal, async (s) => {
    const made = await s.savepoint(name);
    return { name: made, ...txState(s.conn.txStatus()) };
  });
}

/** Rolls back to, or releases, a savepoint made through the API. */
export function endSavepoint(
  store: SessionStore,
  id: string,
  principal: Principal,
  name: string,
  action: 'rollback' | 'release',
): Promise<SavepointResult> {
  return store.run(id, principal, async (s) => {
    if (action === 'rollback') await s.rollbackTo(name);
    else await s.releaseSavepoint(name);
    return { name, ...txState(s.conn.txStatus()) };
  });
}

/** One statement of POST /v1/sessions/:id/execute. */
export interface SessionStatement {
  sql: string;
  params?: unknown[] | Record<string, unknown>;
  /** EXPLAIN it instead of running it (`analyze`: run it inside EXPLAIN ANALYZE). */
  explain?: boolean | 'analyze';
}

/**
 * Runs one statement in the session's queue. `timing.queueMs` gets the wait for the queue; `observe` sees
 * every result (metrics), not the plans of an EXPLAIN.
 */
export function executeInSession(
  store: SessionStore,
  id: string,
  principal: Principal,
  stmt: SessionStatement,
  opts: ExecOptions,
  timing: { queueMs: number },
  observe: (backend: string, result: QueryResult) => void,
): Promise<QueryResult | ExplainResult> {
  const queued = performance.now();
  return store.run(id, principal, async (s) => {
    timing.queueMs = performance.now() - queued;
    const prepared = prepareStatement(s.backend.dialect, stmt.sql, stmt.params);
    if (stmt.explain) return explainInSession(s, prepared, opts, stmt.explain);
    const result = await s.execute(prepared, opts);
    observe(s.backend.name, result);
    return result;
  });
}
