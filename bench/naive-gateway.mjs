/**
 * A reference point, not a product: the "naive" HTTP gateway the issue compares against. Fastify (same
 * version, no logger) with one POST /v1/execute route that runs the body's SQL on a driver pool and returns
 * the driver's rows as JSON: no auth, metrics, limits, exact value mapping, cancellation or sessions.
 * Usage: node bench/naive-gateway.mjs '{"port": 0, "driver": "postgres", "url": "...", "pool": 16}'
 */
import Fastify from 'fastify';
import { openRaw } from './lib/drivers.mjs';

const o = JSON.parse(process.argv[2]);
const raw = await openRaw({ driver: o.driver, url: o.url, file: o.file, pool: o.pool });
const app = Fastify({ logger: false });
app.post('/v1/execute', async (request) => {
  const { sql, params } = request.body;
  const rows = await raw.query(sql, params ?? []);
  return { rows, rowCount: rows.length };
});
await app.listen({ host: '127.0.0.1', port: o.port });
process.on('SIGTERM', () => app.close().then(() => raw.close().then(() => process.exit(0))));
