/**
 * Scenario 3 baseline: the same Fastify version as the gateway, one POST route that parses the JSON body and
 * answers `{}`, no logger, no schema, no database. The gateway's SQLite point query is measured against it,
 * so the ratio is the cost of everything sqlgate adds on top of Fastify itself.
 * Usage: node bench/empty-fastify.mjs <port>
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/execute', async () => ({}));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
