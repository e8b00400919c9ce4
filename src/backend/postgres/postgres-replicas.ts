import { debuglog } from 'node:util';
import type pg from 'pg';
import { SqlgateError } from '../../errors.js';
import { leadingKeyword } from '../sql-lexer.js';
import type { ReplicaStats } from '../storage-backend.js';
import { isServerError } from './postgres-errors.js';

const debug = debuglog('sqlgate');

/** How often each replica's health and lag are asked (in the background; never on a request's path). */
export const REPLICA_CHECK_INTERVAL_MS = 1000;

/**
 * Statements that may be served by a streaming replica when run in autocommit. Only a first guess: a hot
 * standby itself refuses anything that writes (SQLSTATE 25006, also for `SELECT nextval(...)`, a writing
 * CTE, `SELECT ... FOR UPDATE`, `EXPLAIN ANALYZE DELETE ...`), and such a refusal sends the statement to
 * the primary. Correctness never depends on this list; it only keeps obvious writes off the replicas.
 */
const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'SHOW']);

export function mayReadFromReplica(sql: string): boolean {
  return READ_KEYWORDS.has(leadingKeyword(sql));
}

/**
 * Lag in milliseconds as the standby sees it: 0 when everything received is replayed (an idle primary
 * sends nothing, so "time since the last replayed transaction" alone would grow forever), else the age of
 * the last replayed transaction. NULL (never replayed anything yet) counts as caught up only when nothing
 * is pending.
 */
const LAG_SQL =
  'SELECT pg_is_in_recovery() AS standby, CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM ' +
  'pg_last_wal_replay_lsn() THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - ' +
  "pg_last_xact_replay_timestamp()) * 1000, 'Infinity') END AS lag_ms";

/**
 * Whether a statement that failed on a replica may simply run on the primary: the replica refused it as a
 * write (25006 read_only_sql_transaction), cancelled it for a recovery conflict (40001 from the standby),
 * or the replica could not be reached / was lost (BACKEND_UNAVAILABLE). In every case the replica changed
 * nothing (it cannot), so running the statement on the primary is not a second execution of a write.
 */
export function fallsBackToPrimary(err: unknown): boolean {
  if (err instanceof SqlgateError && err.code === 'BACKEND_UNAVAILABLE') return true;
  const cause = err instanceof SqlgateError ? err.cause : err;
  return isServerError(cause) && (cause.code === '25006' || cause.code === '40001');
}

interface Replica {
  /** host:port, the metrics label (never the URL: it may hold a password). */
  readonly target: string;
  readonly pool: pg.Pool;
  up: boolean;
  lagMs: number;
  /** A standby answered the last check (a promoted replica is no longer one: not used). */
  standby: boolean;
  served: number;
  fellBack: number;
}

/**
 * The read replicas of one PostgreSQL backend: a pool per replica, a background check of each (reachable,
 * in recovery, lag within `maxLagMs`), and round-robin among the usable ones. A replica is unusable until
 * its first check passes, so a gateway never sends reads to a replica it knows nothing about.
 */
export class ReplicaRouter {
  private readonly replicas: Replica[];
  private next = 0;
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  /** Autocommit reads that found no usable replica and ran on the primary. */
  private primaryServed = 0;

  constructor(
    urls: string[],
    private readonly maxLagMs: number,
    makePool: (url: string) => pg.Pool,
    private readonly backend: string,
  ) {
    this.replicas = urls.map((url) => {
      const u = new URL(url);
      return {
        target: `${u.hostname}:${u.port || 5432}`,
        pool: makePool(url),
        up: false,
        lagMs: Number.POSITIVE_INFINITY,
        standby: false,
        served: 0,
        fellBack: 0,
      };
    });
    this.timer = setInterval(() => void this.check(), REPLICA_CHECK_INTERVAL_MS);
    this.timer.unref();
    void this.check();
  }

  /** The next usable replica's pool (round robin), or undefined: then the primary serves the read. */
  pick(): { pool: pg.Pool; target: string } | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[(this.next + i) % this.replicas.length] as Replica;
      if (r.up && r.standby && r.lagMs <= this.maxLagMs) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return { pool: r.pool, target: r.target };
      }
    }
    this.primaryServed++;
    return undefined;
  }

  /** A read ran on `target`; `fellBack`: it failed there and was run on the primary instead. */
  note(target: string, fellBack: boolean): void {
    const r = this.replicas.find((x) => x.target === target);
    if (!r) return;
    if (fellBack) r.fellBack++;
    else r.served++;
  }

  /** The replica failed a request (unreachable, lost): unusable until the next check finds it healthy. */
  markDown(target: string): void {
    const r = this.replicas.find((x) => x.target === target);
    if (r) r.up = false;
  }

  /** One check of every replica; overlapping runs are skipped. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.replicas.map((r) => this.checkOne(r)));
    } finally {
      this.checking = false;
    }
  }

  private async checkOne(r: Replica): Promise<void> {
    try {
      const res = await r.pool.query<{ standby: string | boolean; lag_ms: string | number }>({
        text: LAG_SQL,
        query_timeout: REPLICA_CHECK_INTERVAL_MS * 2,
      } as pg.QueryConfig);
      const row = res.rows[0];
      r.standby = row?.standby === true || row?.standby === 't';
      r.lagMs = Number(row?.lag_ms ?? Number.POSITIVE_INFINITY);
      r.up = true;
    } catch (err) {
      if (r.up) debug('backend %s: replica %s is down: %s', this.backend, r.target, (err as Error).message);
      r.up = false;
    }
  }

  stats(): ReplicaStats[] {
    return [
      {
        target: 'primary',
        up: true,
        lagSeconds: 0,
        served: this.primaryServed,
        fellBack: 0,
      },
      ...this.replicas.map((r) => ({
        target: r.target,
        up: r.up && r.standby,
        lagSeconds: Number.isFinite(r.lagMs) ? r.lagMs / 1000 : -1,
        served: r.served,
        fellBack: r.fellBack,
      })),
    ];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled(this.replicas.map((r) => r.pool.end()));
  }
}
