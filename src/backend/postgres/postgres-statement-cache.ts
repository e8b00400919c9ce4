import { randomBytes } from 'node:crypto';
import { leadingKeyword } from '../sql-lexer.js';

/**
 * Named prepared statements, per connection. A statement the backend has seen more than once is parsed
 * under a name on each connection that runs it; later runs on that connection send only Bind/Execute/Sync,
 * so the server skips parse analysis and planning (and the gateway skips the Describe and its
 * RowDescription: the statement's columns are remembered from the first run).
 *
 * - Bounded: the least recently used statement is closed on the server (Close, sent ahead of the next
 *   round trip) when the cache is full.
 * - `DISCARD ALL` / `DEALLOCATE` drop every prepared statement on the server: the cache is cleared with them.
 * - DDL run through the gateway (on any connection of the backend) makes every cached statement stale,
 *   so it is parsed again: its parameter types and plan are taken afresh. DDL from elsewhere can still make
 *   the server refuse a cached statement (0A000 "cached plan must not change result type"): then the
 *   entry is evicted and, in autocommit, the statement is run once more unnamed (see postgres-connection.ts).
 * @see https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 * @see https://www.postgresql.org/docs/15/sql-prepare.html (plan invalidation and fixed parameter types)
 */

/** A column as the server's RowDescription describes it. */
export interface FieldDescription {
  name: string;
  dataTypeID: number;
}

export interface CachedStatement {
  /** The server-side name. */
  readonly name: string;
  /** The statement's result columns ([] for a statement without rows). */
  readonly fields: FieldDescription[];
  /** The backend's schema generation it was parsed in. */
  readonly generation: number;
}

/**
 * Statement names are unique across the process, and across processes by a random part: behind a pooler
 * that hands server connections around (PgBouncer in transaction mode), two gateway connections must not
 * both create `sqlgate_1` on the same server session.
 */
const NAME_PREFIX = `sqlgate_${randomBytes(4).toString('hex')}_`;
let nameSeq = 0;

/** Most statements prepared per connection. */
export const STATEMENT_CACHE_SIZE = 100;
/** Longer SQL is never prepared under a name: the cache would hold too much text. */
const MAX_CACHED_SQL = 16_384;
/** Statements worth a plan: utility commands (DDL, SET, BEGIN ...) are not planned by the server anyway. */
const PLANNABLE = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH', 'VALUES', 'MERGE', 'TABLE']);

/**
 * Backend-wide: how often each statement has been run (bounded), so that one-shot SQL is not prepared,
 * and the schema generation that DDL bumps.
 */
export class StatementUsage {
  private readonly seen = new Map<string, number>();
  /** Bumped whenever DDL completes through the gateway; cached statements from before are stale. */
  generation = 0;

  /**
   * @param max how many distinct SQL texts are counted
   * @param cacheSize statements each connection keeps; 0 turns named statements off (`note` is always false)
   */
  constructor(
    private readonly max = 1024,
    readonly cacheSize = STATEMENT_CACHE_SIZE,
  ) {}

  /**
   * Counts one run of `sql`; true when it is worth preparing: seen before, plannable, not too long.
   * 0 in the map marks SQL that is never worth it.
   */
  note(sql: string): boolean {
    if (this.cacheSize === 0) return false;
    const n = this.seen.get(sql);
    if (n === undefined) {
      if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value as string);
      const worth = sql.length <= MAX_CACHED_SQL && PLANNABLE.has(leadingKeyword(sql));
      this.seen.set(sql, worth ? 1 : 0);
      return false;
    }
    if (n === 0) return false;
    if (n === 1) this.seen.set(sql, 2);
    return true;
  }
}

/** One connection's prepared statements, in least-recently-used order. */
export class StatementCache {
  private readonly entries = new Map<string, CachedStatement>();
  /** Names evicted here but still on the server: closed at the start of the next round trip. */
  private closing: string[] = [];

  constructor(private readonly max = STATEMENT_CACHE_SIZE) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached statement for `sql` (now the most recently used), unless missing or from an older generation. */
  get(sql: string, generation: number): CachedStatement | undefined {
    const e = this.entries.get(sql);
    if (!e) return undefined;
    this.entries.delete(sql);
    if (e.generation !== generation) {
      this.closing.push(e.name);
      return undefined;
    }
    this.entries.set(sql, e);
    return e;
  }

  /** A fresh server-side name (never reused, so a statement that may half-exist cannot collide). */
  nextName(): string {
    nameSeq += 1;
    return NAME_PREFIX + nameSeq;
  }

  /** Remembers a statement the server has parsed; evicts the least recently used one when full. */
  add(sql: string, entry: CachedStatement): void {
    const old = this.entries.get(sql);
    if (old) this.closing.push(old.name);
    this.entries.delete(sql);
    this.entries.set(sql, entry);
    if (this.entries.size > this.max) {
      const [oldestSql, oldest] = this.entries.entries().next().value as [string, CachedStatement];
      this.entries.delete(oldestSql);
      this.closing.push(oldest.name);
    }
  }

  /** Forgets `sql` and closes its statement on the server with the next round trip. */
  evict(sql: string): void {
    const e = this.entries.get(sql);
    if (!e) return;
    this.entries.delete(sql);
    this.closing.push(e.name);
  }

  /** A name that may or may not exist on the server (its round trip failed): close it next time. */
  forget(name: string): void {
    this.closing.push(name);
  }

  /** Names to Close ahead of the next round trip; they are taken (sent once). */
  takeClosing(): string[] {
    if (this.closing.length === 0) return NONE;
    const names = this.closing;
    this.closing = [];
    return names;
  }

  /**
   * Forgets every statement: the server dropped them all (DISCARD ALL on reset), or may have dropped some
   * (`closeOnServer`: a client's DISCARD / DEALLOCATE; the rest are closed with the next round trip).
   */
  clear(closeOnServer: boolean): void {
    if (closeOnServer) for (const e of this.entries.values()) this.closing.push(e.name);
    else this.closing = [];
    this.entries.clear();
  }
}

const NONE: string[] = [];
