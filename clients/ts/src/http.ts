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
}

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
  async send<T>(call: Call): Promise<T> {
    const r = this.o.retry === false ? {} : (this.o.retry ?? {});
    const retries = this.o.retry === false ? 0 : (r.retries ?? 2);
    const base = r.baseDelayMs ?? 50;
    const max = r.maxDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(call);
      } catch (err) {
        const e = err as SqlgateError & { retryAfterMs?: number };
        if (!call.safe || !e.retryable || attempt >= retries) throw e;
        const backoff = Math.random() * Math.min(max, base * 2 ** attempt);
        await sleep(Math.min(max, Math.max(backoff, e.retryAfterMs ?? 0)), call.signal);
      }
    }
  }

  private async once<T>(call: Call): Promise<T> {
    if (call.signal?.aborted) throw aborted(call.signal);
    const timeoutMs = call.timeoutMs ?? this.o.timeoutMs;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            ctl.abort();
          }, timeoutMs);
    try {
      let res: Response;
      try {
        res = await this.doFetch(this.base + call.path, {
          method: call.method,
          headers: this.headers,
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
          signal: ctl.signal,
        });
      } catch (err) {
        throw this.networkError(err, call, timedOut, timeoutMs);
      }
      const requestId = res.headers.get('x-request-id') ?? undefined;
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        if (timedOut || call.signal?.aborted) throw this.networkError(err, call, timedOut, timeoutMs);
        body = null;
      }
      if (res.ok) return body as T;
      const e = fromBody(res.status, body, requestId) as SqlgateError & { retryAfterMs?: number };
      const after = Number(res.headers.get('retry-after'));
      if (after > 0) e.retryAfterMs = after * 1000;
      throw e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    }
  }

  private networkError(err: unknown, call: Call, timedOut: boolean, timeoutMs?: number): SqlgateError {
    if (err instanceof SqlgateError) return err;
    if (call.signal?.aborted) return aborted(call.signal);
    if (timedOut) {
      return new SqlgateError('TIMEOUT', `no reply from the gateway within ${timeoutMs} ms`, { cause: err });
    }
    // A refused connection means the request never left: the one network failure safe to retry.
    const code = (err as { cause?: { code?: unknown } })?.cause?.code;
    const refused = code === 'ECONNREFUSED' || /refused/i.test(String((err as Error)?.message ?? ''));
    return new SqlgateError('NETWORK_ERROR', `cannot reach the gateway: ${(err as Error)?.message ?? err}`, {
      class: 'ConnectionError',
      retryable: refused,
      cause: err,
    });
  }
}
