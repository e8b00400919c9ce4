import { getEventListeners } from 'node:events';
import { Agent, request } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSignal } from '../../src/query/client-signal.js';

/** clientSignal over real sockets: one signal per keep-alive connection, aborted when it closes. */
describe('clientSignal', () => {
  let app: FastifyInstance;
  let base: string;
  const seen: AbortSignal[] = [];
  let waiting: ((s: AbortSignal) => void) | undefined;

  beforeAll(async () => {
    app = Fastify();
    app.get('/quick', async (_req, reply) => {
      const s = clientSignal(reply);
      seen.push(s);
      // What a backend does around a statement: listen, then stop listening.
      const onAbort = () => {};
      s.addEventListener('abort', onAbort, { once: true });
      s.removeEventListener('abort', onAbort);
      return { aborted: s.aborted };
    });
    app.get('/slow', async (_req, reply) => {
      const s = clientSignal(reply);
      waiting?.(s);
      await new Promise((resolve) => s.addEventListener('abort', resolve, { once: true }));
      return {};
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());

  const get = (path: string, agent: Agent) =>
    new Promise<number>((resolve, reject) => {
      request(`${base}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });

  it('gives the requests of one keep-alive connection the same signal, and leaves no listeners', async () => {
    seen.length = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) expect(await get('/quick', agent)).toBe(200);
    expect(new Set(seen).size).toBe(1);
    expect(getEventListeners(seen[0] as AbortSignal, 'abort')).toHaveLength(0);
    expect(seen[0]?.aborted).toBe(false);
    const other = new Agent({ keepAlive: true, maxSockets: 1 });
    await get('/quick', other);
    expect(new Set(seen).size).toBe(2);
    agent.destroy();
    other.destroy();
  });

  it('aborts when the client closes the connection mid-request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const got = new Promise<AbortSignal>((resolve) => {
      waiting = resolve;
    });
    const req = request(`${base}/slow`, { agent });
    req.on('error', () => {});
    req.end();
    const signal = await got;
    expect(signal.aborted).toBe(false);
    req.destroy();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    expect(signal.aborted).toBe(true);
    agent.destroy();
  });
});
