import type { Principal } from '../auth/principal.js';
import type { Connection, StorageBackend } from '../backend/storage-backend.js';
import { SqlgateError } from '../errors.js';

/**
 * The connection of a session opened with `"scratch": true`: a fresh private database from the backend's
 * `acquireScratch` capability (SQLite: src/backend/sqlite/sqlite-scratch.ts), which checks its own
 * `backends.<name>.scratch` settings. A backend without the capability refuses with BAD_REQUEST.
 */
export async function acquireScratch(principal: Principal, backend: StorageBackend): Promise<Connection> {
  if (!backend.acquireScratch)
    throw new SqlgateError(
      'BAD_REQUEST',
      `backend "${backend.name}" (${backend.driver}) has no scratch databases; they exist for SQLite backends`,
    );
  return backend.acquireScratch({ id: principal.id, readOnly: principal.readOnly });
}
