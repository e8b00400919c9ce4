import { SqlgateError } from '../../errors.js';
import type { RowSink, StreamSummary } from '../row-stream.js';
import type { StreamMessage, StreamRequest } from './sqlite-stream-worker.js';
import type { WorkerResponse } from './sqlite-worker.js';

/**
 * The main thread's side of a streamed SQLite statement (see sqlite-stream-worker.ts): each chunk the
 * worker sends goes to the sink, and the next is granted (`more`) only once the sink can take it, so a slow
 * HTTP reader leaves the worker idle with its statement open. An abort sends `stop`; a worker that does not
 * answer it within STOP_GRACE_MS (one long step, e.g. a sort before the first row) is terminated, which is
 * the only way to interrupt better-sqlite3, and the pool opens a fresh connection.
 */

/** How long a stopped stream may take to close its statement before the worker is terminated. */
export const STOP_GRACE_MS = 500;

/** What a stream needs from its connection. */
export interface WorkerChannel {
  readonly backend: string;
  send(req: StreamRequest): void;
  /** Throws the mapped error of a failed worker response. */
  unwrap(res: WorkerResponse): void;
  /** The transaction state the worker reported with the end of the stream. */
  setInTransaction(inTransaction: boolean): void;
  /** Terminates the worker: the statement would not stop. */
  destroy(): Promise<void>;
}

export class WorkerStream {
  readonly done: Promise<StreamSummary>;
  private resolve!: (s: StreamSummary) => void;
  private reject!: (e: unknown) => void;
  private ended = false;
  private grace: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop();

  constructor(
    private readonly chan: WorkerChannel,
    private readonly id: number,
    private readonly sink: RowSink,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
  }

  /** Sends the statement; call after registering `onMessage` for `id`. */
  start(req: Extract<StreamRequest, { op: 'stream' }>): void {
    this.chan.send(req);
    if (this.sink.signal.aborted) this.stop();
    else this.sink.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private stop(): void {
    if (this.ended || this.grace) return;
    this.chan.send({ id: this.id, op: 'stop' });
    this.grace = setTimeout(() => {
      if (this.ended) return;
      this.end();
      this.reject(
        new SqlgateError('STATEMENT_TIMEOUT', 'the statement did not stop and its worker was terminated', {
          backend: this.chan.backend,
        }),
      );
      void this.chan.destroy();
    }, STOP_GRACE_MS);
  }

  private end(): void {
    this.ended = true;
    clearTimeout(this.grace);
    this.sink.signal.removeEventListener('abort', this.onAbort);
  }

  onMessage(msg: StreamMessage | WorkerResponse): void {
    if (this.ended) return;
    if (!('stream' in msg)) {
      this.end();
      this.chan.setInTransaction(msg.inTransaction);
      try {
        this.chan.unwrap(msg);
        this.reject(new SqlgateError('INTERNAL', 'the SQLite worker answered a stream out of turn'));
      } catch (err) {
        this.reject(err);
      }
      return;
    }
    switch (msg.stream) {
      case 'columns':
        if (!this.sink.signal.aborted) this.sink.columns(msg.columns);
        return;
      case 'rows': {
        if (this.sink.signal.aborted) return;
        if (this.sink.write(msg.text, msg.rows)) this.more();
        else this.sink.ready().then(() => this.more());
        return;
      }
      case 'end':
        this.end();
        this.chan.setInTransaction(msg.inTransaction);
        this.resolve(msg.summary);
        return;
    }
  }

  private more(): void {
    if (!this.ended && !this.sink.signal.aborted) this.chan.send({ id: this.id, op: 'more' });
  }

  /** The worker died under the stream. */
  onLost(err: Error): void {
    if (this.ended) return;
    this.end();
    this.reject(err);
  }
}
