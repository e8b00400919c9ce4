import type { Transport as T, TransportOptions } from './http.js';
import { Transport } from './http.js';
import { type Defaults, Queryable } from './queryable.js';
import { Session, type SessionOptions } from './session.js';
import type { Int64Mode } from './values.js';

/** Options of createClient. */
export interface ClientOptions extends TransportOptions {
  /** Gateway base URL, e.g. `https://db.example.com`. */
  url: string;
  /** API key or JWT, sent as `Authorization: Bearer`. */
  token?: string;
  /** Backend name; the gateway's default when absent. */
  backend?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Client-side deadline for each reply, ms (none by default). */
  timeoutMs?: number;
  /** Retry policy (see README "Retries"); false turns retries off. */
  retry?: TransportOptions['retry'];
  /** BIGINT values: `"number-if-safe"` (default: number when exact, else string), `"bigint"`, `"string"`. */
  int64?: Int64Mode;
  /** TIMESTAMP as exact ISO strings (default, microseconds kept) or `Date`s. */
  timestamps?: 'string' | 'date';
  /** DECIMAL text -> your decimal type (default: the exact string). */
  decimal?: (text: string) => unknown;
}

/** A transaction: a session whose commit/rollback the client drives (see Client.transaction). */
export type Transaction = Session;

/** The client: autocommit execute/batch, transactions and sessions. */
export class Client extends Queryable {
  /** @internal */
  readonly http: T;

  constructor(options: ClientOptions) {
    const defaults: Defaults = {
      backend: options.backend,
      int64: options.int64 ?? 'number-if-safe',
      timestamps: options.timestamps ?? 'string',
      decimal: options.decimal,
    };
    const transport = new Transport(options);
    super(transport, defaults);
    this.http = transport;
  }

  protected target(kind: 'execute' | 'batch') {
    const extra = this.defaults.backend ? { backend: this.defaults.backend } : {};
    return { path: `/v1/${kind}`, safe: true, extra };
  }

  /** Opens a session for manual control (BEGIN unless `begin: false`); close it when done. */
  session(options?: SessionOptions): Promise<Session> {
    return Session.open(this.transport, this.defaults, options);
  }

  /**
   * Runs `fn` in a transaction on its own session: commits when it returns, rolls back when it throws
   * (the error is rethrown), closes the session always. `tx.savepoint(fn)` nests.
   */
  async transaction<R>(fn: (tx: Transaction) => Promise<R>, options?: Omit<SessionOptions, 'begin'>): Promise<R> {
    const tx = await Session.open(this.transport, this.defaults, { ...options, begin: true });
    try {
      const result = await fn(tx);
      if (!tx.isClosed) await tx.commit();
      return result;
    } catch (err) {
      if (!tx.isClosed) await tx.rollback().catch(() => tx.close().catch(() => {}));
      throw err;
    }
  }
}

/** Creates a client. No request is sent until the first call. */
export function createClient(options: ClientOptions): Client {
  return new Client(options);
}
