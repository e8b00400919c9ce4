import { fromBody, SqlgateError } from './errors.js';

/** Retry policy: only for retryable errors, and only for requests where nothing can have committed. */
export interface RetryOptions {
  /** Extra attempts after the first (default 2; 0 turns retries off). */
  retries?: number;
  /** First backoff in ms, doubled each attempt, with full jitter (default 50). */
  baseDelayMs?: number;
  /** Upper bound of one backoff in ms (default 1000); a server's Retry-After counts up to this too. */
  maxDelayMs?: number;
}

/** What the transport needs from the client options. */
export interface TransportOptions {
  url: string;
  token?: string | undefined;
  fetch?: typeof fetch | undefined;
  headers?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
  retry?: RetryOptions | false | undefined;
}

/** One request. `safe` says whether a retry can never repeat a committed write. */
export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  safe: boolean;
  /** Extra request headers (e.g. `accept` for a stream). */
  headers?: Record<string, string> | undefined;
}

/** A 2xx reply whose body is still unread (see Transport.open). */
export interface Opened {
  res: Response;
  /** Aborts the request and its body (linked to the call's signal). */
  ctl: AbortController;
}

/** An error with what the retry loop needs: a Retry-After hint, or proof that the request never left. */
type Failure = SqlgateError & { retryAfterMs?: number; notSent?: boolean };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(aborted(signal));
      },
      { once: true },
    );
  });

/** The abort reason of a client-side deadline (told apart from the caller's own abort). */
const TIMED_OUT = 'sqlgate-client-timeout';

const aborted = (signal: AbortSignal) =>
  new SqlgateError('ABORTED', 'the request was aborted', { cause: signal.reason });

/** Sends JSON requests to the gateway, maps failures to SqlgateError and retries where it is safe. */
export class Transport {
  private readonly base: string;
  private readonly doFetch: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: TransportOptions) {
    this.base = o.url.replace(/\/+$/, '');
    this.doFetch = o.fetch ?? ((input, init) => fetch(input, init));
    this.headers = { 'content-type': 'application/json', ...o.headers };
    if (o.token) this.headers.authorization = `Bearer ${o.token}`;
  }

  /** Sends the call; resolves with the parsed JSON body of a 2xx reply, throws SqlgateError otherwise. */
  send<T>(call: Call): Promise<T> {
    return this.retrying(call, () =>
      this.once(call, false, async (res, ctl, timeoutMs) => {
        try {
          return (await res.json()) as T;
        } catch (err) {
          if (err instanceof SyntaxError && !ctl.signal.aborted) {
            throw new SqlgateError('BAD_RESPONSE', `the gateway's ${res.status} reply is not JSON`, {
              status: res.status,
              requestId: res.headers.get('x-request-id') ?? undefined,
              cause: err,
            });
          }
          throw this.networkError(err, call, ctl.signal.reason === TIMED_OUT, timeoutMs);
        }
      }),
    );
  }

  /**
   * Sends the call and resolves once a 2xx reply's head arrived, its body unread (streams). The timeout
   * covers only the wait for the head; the call's signal (and `ctl`) aborts the body too.
   */
  open(call: Call): Promise<Opened> {
    return this.retrying(call, () => this.once(call, true, async (res, ctl) => ({ res, ctl })));
  }

  /**
   * Retries with jittered backoff: a retryable error of a call where nothing can have committed, or any
   * call whose connection was refused (the request never left, so no statement ran).
   */
  private async retrying<T>(call: Call, attempt: () => Promise<T>): Promise<T> {
    const r = this.o.retry === false ? {} : (this.o.retry ?? {});
    const retries = this.o.retry === false ? 0 : (r.retries ?? 2);
    const base = r.baseDelayMs ?? 50;
    const max = r.maxDelayMs ?? 1000;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        const e = err as Failure;
        if (!(e.notSent || (call.safe && e.retryable)) || n >= retries) throw e;
        const backoff = Math.random() * Math.min(max, base * 2 ** n);
        await sleep(Math.min(max, Math.max(backoff, e.retryAfterMs ?? 0)), call.signal);
      }
    }
  }

  /** One attempt: a non-2xx reply becomes its coded error; a 2xx goes to `read` under the same deadline. */
  private async once<T>(
    call: Call,
    keep: boolean,
    read: (res: Response, ctl: AbortController, timeoutMs: number | undefined) => Promise<T>,
  ): Promise<T> {
    if (call.signal?.aborted) throw aborted(call.signal);
    const timeoutMs = call.timeoutMs ?? this.o.timeoutMs;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(call.signal?.reason);
    call.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => ctl.abort(TIMED_OUT), timeoutMs);
    let kept = false;
    try {
      let res: Response;
      try {
        res = await this.doFetch(this.base + call.path, {
          method: call.method,
          headers: call.headers ? { ...this.headers, ...call.headers } : this.headers,
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
          signal: ctl.signal,
        });
      } catch (err) {
        throw this.networkError(err, call, ctl.signal.reason === TIMED_OUT, timeoutMs);
      }
      if (res.ok) {
        kept = keep;
        return await read(res, ctl, timeoutMs);
      }
      const requestId = res.headers.get('x-request-id') ?? undefined;
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        if (ctl.signal.aborted) throw this.networkError(err, call, ctl.signal.reason === TIMED_OUT, timeoutMs);
        body = null;
      }
      const e = fromBody(res.status, body, requestId) as Failure;
      const after = Number(res.headers.get('retry-after'));
      if (after > 0) e.retryAfterMs = after * 1000;
      throw e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      // A kept body stays linked to the caller's signal, so aborting it later still stops the request.
      if (!kept) call.signal?.removeEventListener('abort', onAbort);
    }
  }

  private networkError(err: unknown, call: Call, timedOut: boolean, timeoutMs?: number): SqlgateError {
    if (err instanceof SqlgateError) return err;
    if (call.signal?.aborted) return aborted(call.signal);
    if (timedOut) {
      return new SqlgateError('TIMEOUT', `no reply from the gateway within ${timeoutMs} ms`, { cause: err });
    }
    // A refused connection means the request never left, so no statement can have run: safe to retry
    // for any call. Anything else (reset, lost reply) may come after a commit and is never retried.
    const e = new SqlgateError('NETWORK_ERROR', `cannot reach the gateway: ${(err as Error)?.message ?? err}`, {
      class: 'ConnectionError',
      retryable: refused(err),
      cause: err,
    }) as Failure;
    e.notSent = e.retryable;
    return e;
  }
}

/** Whether a fetch failure is a refused connection, as Node (ECONNREFUSED), Bun, Deno or workerd word it. */
function refused(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (e.code === 'ECONNREFUSED' || e.code === 'ConnectionRefused' || /refused/i.test(String(e.message))) return true;
    e = e.cause as typeof e;
  }
  return false;
}
