import type { FastifyInstance } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { Connection, StorageBackend } from '../backend/storage-backend.js';
import type { ExecOptions, QueryResult, Statement } from '../backend/types.js';
import { SqlgateError } from '../errors.js';

/**
 * Read-only principals, enforced by the database rather than by reading their SQL.
 *
 * Their statements run on a connection from `backend.acquire({ readOnly: true })`. A backend answers that
 * with either
 *  - a connection that refuses writes by itself (`readOnlyEnforced`): SQLite opened SQLITE_OPEN_READONLY, a
 *    pool on the backend's `readOnlyUrl` (a database user with SELECT grants only), or PostgreSQL's guard
 *    that runs every statement inside a READ ONLY transaction (`readOnlyBy: 'transaction'`,
 *    src/backend/postgres/postgres-read-only-guard.ts); or
 *  - an error (FORBIDDEN), when the database cannot make that airtight and no `readOnlyUrl` is configured
 *    (MySQL/MariaDB: DDL commits a read-only transaction implicitly and `SELECT ... INTO OUTFILE` runs in one;
 *    PostgreSQL as a superuser: `COPY ... TO PROGRAM` runs in one).
 * A connection that arrives without `readOnlyEnforced` is released and refused (FORBIDDEN), so a backend
 * that ignored the flag still cannot be written through. "Refuse what cannot be enforced rather than
 * hoping."
 */

/** True when the connection itself refuses writes, whatever SQL is sent. */
export function enforcesReadOnly(conn: Connection): boolean {
  return conn.readOnlyEnforced === true;
}

/**
 * A pinned connection for the principal: an ordinary one for a writer, one that cannot write for a
 * read-only principal. With `clientDrivesTransactions` (a `begin: false` session, where the client sends
 * BEGIN/COMMIT itself) a read-only principal needs a read-only credential or connection mode, since the
 * gateway would otherwise have to turn the client's transaction control into no-ops: FORBIDDEN then.
 */
export async function acquireFor(
  principal: Principal,
  backend: StorageBackend,
  opts: { clientDrivesTransactions?: boolean } = {},
): Promise<Connection> {
  if (!principal.readOnly) return backend.acquire();
  const conn = await backend.acquire({ readOnly: true });
  if (!enforcesReadOnly(conn)) {
    await conn.release();
    throw new SqlgateError(
      'FORBIDDEN',
      `backend "${backend.name}" cannot give a read-only principal a connection that refuses writes`,
      { backend: backend.name },
    );
  }
  if (opts.clientDrivesTransactions && conn.readOnlyBy === 'transaction') {
    await conn.release();
    throw clientTransactionsForbidden(backend.name);
  }
  return conn;
}

function clientTransactionsForbidden(backend: string): SqlgateError {
  return new SqlgateError(
    'FORBIDDEN',
    `a read-only principal can drive its own transactions on backend "${backend}" only with a read-only ` +
      'credential (readOnlyUrl); open the session with begin: true',
    { backend },
  );
}

/**
 * Runs one autocommit statement as the principal: on the pool for a writer; on a read-only connection for
 * a read-only principal (reset on release, so nothing it SETs outlives the statement).
 */
export async function runAsPrincipal(
  principal: Principal,
  backend: StorageBackend,
  stmt: Statement,
  opts: ExecOptions,
): Promise<QueryResult> {
  if (!principal.readOnly) return backend.execute(stmt, opts);
  const waitStarted = performance.now();
  const conn = await acquireFor(principal, backend);
  if (opts.timing) opts.timing.queueMs += performance.now() - waitStarted;
  try {
    return await conn.execute(stmt, opts);
  } finally {
    await conn.release();
  }
}

/**
 * A preHandler for `POST /v1/sessions` with `"begin": false`: a read-only principal may open one only where
 * the read-only connection refuses writes by itself (see `acquireFor`). Checked by taking and returning one
 * read-only connection, so the answer is the backend's own (readOnlyUrl configured or not).
 */
export function refuseUnenforceableClientTransactions(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/v1/sessions') return;
    const body = request.body as { begin?: unknown; backend?: unknown } | null;
    if (!request.principal.readOnly || !body || body.begin !== false) return;
    const backend = app.backends.get(typeof body.backend === 'string' ? body.backend : undefined);
    const conn = await acquireFor(request.principal, backend, { clientDrivesTransactions: true });
    await conn.release();
  });
}
