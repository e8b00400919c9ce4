/** A tiny JSON-over-HTTP client for the deployment tests (real sockets, through the balancer). */

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in the tests
  body: any;
}

export function client(base: string) {
  return async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      // The connection died before an answer: status 0, so a test can tell it from any HTTP answer.
      return {
        status: 0,
        body: { error: { code: 'NO_RESPONSE', message: String((err as Error).cause ?? err) } },
      };
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: kept as text, so an assertion shows what came back.
    }
    return { status: res.status, body: parsed };
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
