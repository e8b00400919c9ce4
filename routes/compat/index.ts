import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config.js';
import hranaRoutes from './hrana.js';
import neonSqlRoute from './neon-sql.js';

/**
 * The vendor protocol endpoints (docs/compat.md): Neon's SQL-over-HTTP and libSQL's Hrana over HTTP. Each
 * is its own encapsulated context, so its body parsers and its protocol's error format stay its own.
 */
export default async function compatRoutes(
  app: FastifyInstance,
  { config }: { config: Config },
): Promise<void> {
  if (config.compat.neon.enabled) await app.register(neonSqlRoute, { config });
  if (config.compat.hrana.enabled) await app.register(hranaRoutes, { config });
}
