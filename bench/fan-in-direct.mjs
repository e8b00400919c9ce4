/**
 * Scenario 5 contrast: what `clients` direct connections do to a PostgreSQL server with its default
 * max_connections. Opens them all at once, counts successes and refusals by SQLSTATE (53300
 * too_many_connections), then closes every one immediately: bounded in count and in time.
 * Usage: node bench/fan-in-direct.mjs '{"url": "...", "clients": 1000, "connectTimeoutMs": 10000}'
 */
import pg from 'pg';

const o = JSON.parse(process.argv[2]);
const clients = [];
const outcome = { ok: 0, tooManyClients: 0, otherErrors: 0, otherCodes: {} };
const t0 = performance.now();
await Promise.all(
  Array.from({ length: o.clients }, async () => {
    const c = new pg.Client({ connectionString: o.url, connectionTimeoutMillis: o.connectTimeoutMs });
    c.on('error', () => {});
    try {
      await c.connect();
      clients.push(c);
      outcome.ok++;
    } catch (err) {
      if (err.code === '53300') outcome.tooManyClients++;
      else {
        outcome.otherErrors++;
        const k = err.code ?? err.message.slice(0, 60);
        outcome.otherCodes[k] = (outcome.otherCodes[k] ?? 0) + 1;
      }
    }
  }),
);
const elapsedMs = performance.now() - t0;
await Promise.allSettled(clients.map((c) => c.end()));
const [{ max }] = await (async () => {
  const c = new pg.Client({ connectionString: o.url });
  await c.connect();
  try {
    return (await c.query('show max_connections')).rows.map((r) => ({ max: Number(r.max_connections) }));
  } finally {
    await c.end();
  }
})();
process.stdout.write(
  `${JSON.stringify({ clients: o.clients, maxConnections: max, elapsedMs, ...outcome })}\n`,
);
