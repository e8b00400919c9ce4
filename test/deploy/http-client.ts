import { request } from 'node:http';

/** A tiny JSON-over-HTTP client for the deployment tests (real sockets, through the balancer). */

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in the tests
  body: any;
}

/**
 * One fresh TCP connection per request (no keep-alive), so an answer-less request means the balancer or
 * replica really dropped it. With a keep-alive pool, a request written on a pooled connection at the
 * moment the balancer closes it is lost before the balancer reads it (no status, nothing in HAProxy's
 * log: measured in replicas.test.ts, 1-2 of ~100 requests around a replica kill); HTTP clients retry that
 * race only for idempotent methods, and these are POSTs.
 */
export function client(base: string) {
  return function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const noResponse = (err: unknown): Reply => ({
      status: 0,
      body: { error: { code: 'NO_RESPONSE', message: String(err) } },
    });
    return new Promise((resolve) => {
      const req = request(
        `${base}${path}`,
        { method, agent: false, headers: data === undefined ? {} : { 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve(noResponse(err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // Not JSON: kept as text, so an assertion shows what came back.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      // The connection died before an answer: status 0, so a test can tell it from any HTTP answer.
      req.on('error', (err) => resolve(noResponse(err)));
      req.end(data);
    });
  };
}

/** The HAProxy stats page as CSV: one record per proxy/server line, keyed by the header names. */
export async function haproxyStats(statsBase: string): Promise<Record<string, string>[]> {
  const text = await (await fetch(`${statsBase}/stats;csv`)).text();
  const [header, ...lines] = text.trim().split('\n');
  const names = (header ?? '').replace(/^# /, '').split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i] ?? String(i), v])));
}

/** `status` and `stot` (requests sent) of each server of backend `replicas`. */
export async function replicaStates(
  statsBase: string,
): Promise<Record<string, { status: string; stot: number }>> {
  const out: Record<string, { status: string; stot: number }> = {};
  for (const r of await haproxyStats(statsBase)) {
    if (r.pxname === 'replicas' && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND' && r.svname) {
      out[r.svname] = { status: r.status ?? '', stot: Number(r.stot) };
    }
  }
  return out;
}
