import type { ScratchConfig } from '../../config/scratch-schema.js';
import { SqlgateError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import type { Connection } from '../storage-backend.js';
import type { Statement } from '../types.js';
import { type ConnectionOwner, SqliteConnection } from './sqlite-connection.js';
import { deadlineExtensionPath } from './sqlite-deadline.js';

/** Who asks for a scratch database (the session's principal). */
export interface ScratchRequester {
  /** The principal id (`key:<name>`, `jwt:<sub>`, `anonymous`). */
  id: string;
  /** Read-only principals get no scratch database: it exists to be written. */
  readOnly: boolean;
}

/** :memory: databases use SQLite's default page size; max_page_count caps a database at maxSizeMb. */
const PAGE_SIZE = 4096;

/**
 * Statements a scratch session may not run: setting its size cap (PRAGMA max_page_count / page_size = …;
 * reading them is fine),
 * attaching more databases (each would be a new, uncapped one, or a file), or VACUUM INTO a file.
 */
const REFUSED =
  /^\s*(?:pragma\b[\s\S]*\b(?:max_page_count|page_size)\s*[=(]|attach\b|vacuum\b[\s\S]*\binto\b)/i;

function refuse(sql: string): void {
  if (REFUSED.test(sql))
    throw new SqlgateError(
      'FORBIDDEN',
      'a scratch database cannot change its size limit, ATTACH databases or VACUUM INTO a file',
    );
}

/** The connection as a session sees it: the statements above refused before they reach SQLite. */
function guarded(conn: SqliteConnection): Connection {
  const wrap =
    (pick: (args: unknown[]) => string, fn: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      refuse(pick(args));
      return fn.apply(conn, args);
    };
  const sqlOfStatement = (args: unknown[]) => (args[0] as Statement).sql;
  const sqlText = (args: unknown[]) => args[0] as string;
  return new Proxy(conn, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'execute' || prop === 'stream') return wrap(sqlOfStatement, fn);
      if (prop === 'executeMany' || prop === 'run') return wrap(sqlText, fn);
      return fn.bind(target);
    },
  });
}

/**
 * Scratch databases of one SQLite backend: each is a private `:memory:` database on its own worker thread,
 * opened for one session and destroyed (with everything in it) when the session gives it back.
 */
export class ScratchDatabases implements ConnectionOwner {
  private readonly live = new Set<SqliteConnection>();
  private opening = 0;
  private closing = false;

  constructor(
    private readonly backendName: string,
    private readonly dialect: Dialect,
    private readonly config: ScratchConfig | undefined,
    private readonly busyTimeoutMs: number,
  ) {}

  /** Checks that `who` may have one and the limit allows it, then opens a fresh database. */
  async acquire(who: ScratchRequester): Promise<Connection> {
    const cfg = this.config;
    const where = `backends.${this.backendName}.scratch`;
    if (!cfg?.enabled)
      throw new SqlgateError(
        'BAD_REQUEST',
        `scratch databases are off for backend "${this.backendName}" (${where}.enabled)`,
      );
    if (who.readOnly || !(cfg.principals.includes('*') || cfg.principals.includes(who.id)))
      throw new SqlgateError(
        'FORBIDDEN',
        `this principal may not open scratch databases (${where}.principals)`,
      );
    if (this.closing)
      throw new SqlgateError('BACKEND_UNAVAILABLE', 'the backend is shutting down', {
        backend: this.backendName,
      });
    if (this.live.size + this.opening >= cfg.maxSessions)
      throw new SqlgateError(
        'TOO_MANY_SESSIONS',
        `${cfg.maxSessions} scratch databases are open on backend "${this.backendName}" (${where}.maxSessions); close one or retry later`,
        { retryAfter: 1 },
      );
    this.opening++;
    let conn: SqliteConnection | undefined;
    try {
      conn = await SqliteConnection.open(this.dialect, this.backendName, this, {
        filename: ':memory:',
        readonly: false,
        busyTimeoutMs: this.busyTimeoutMs,
        deadlineExtension: deadlineExtensionPath(),
      });
      this.live.add(conn);
      await conn.run(`PRAGMA max_page_count = ${Math.floor((cfg.maxSizeMb * 1024 * 1024) / PAGE_SIZE)}`);
      return guarded(conn);
    } catch (err) {
      await conn?.destroy().catch(() => undefined);
      throw err instanceof SqlgateError
        ? err
        : new SqlgateError(
            'BACKEND_UNAVAILABLE',
            'could not open a scratch database',
            { backend: this.backendName },
            {
              cause: err,
            },
          );
    } finally {
      this.opening--;
    }
  }

  /** Scratch databases are never reused: giving one back destroys it. */
  async giveBack(conn: SqliteConnection): Promise<void> {
    await conn.destroy();
    this.live.delete(conn);
  }

  forget(conn: SqliteConnection): void {
    this.live.delete(conn);
  }

  /** Open scratch databases now (for tests and metrics). */
  get size(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.live].map((c) => c.destroy()));
    this.live.clear();
  }
}
