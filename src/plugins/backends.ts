import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BackendRegistry } from '../backend/backend-registry.js';
import { createBackend } from '../backend/create-backend.js';
import type { StorageBackend } from '../backend/storage-backend.js';
import type { Config } from '../config.js';
import type { SqlgateError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    backends: BackendRegistry;
  }
}

/**
 * Creates the backends without waiting for the databases: a database that is down at start makes
 * /readyz fail and its requests answer BACKEND_UNAVAILABLE, but the gateway still serves the others.
 */
async function backendsPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const map = new Map<string, StorageBackend>();
  for (const cfg of Object.values(opts.config.backends)) map.set(cfg.name, await createBackend(cfg));
  app.decorate('backends', new BackendRegistry(map, opts.config.defaultBackend));

  // Connecting starts now, not in onReady: a SQLite worker thread boots (or a server handshakes) while the
  // rest of the app is still being registered, which shortens the cold start. onReady waits for it.
  const connecting = [...map.values()].map((b) =>
    b.connect().then(
      () => undefined,
      (err: unknown) => ({ backend: b.name, err }),
    ),
  );
  app.addHook('onReady', async () => {
    for (const failed of await Promise.all(connecting)) {
      if (failed) {
        app.log.warn(
          { backend: failed.backend, code: (failed.err as SqlgateError).code },
          'backend not reachable at start',
        );
      }
    }
  });
  app.addHook('onClose', async () => {
    await Promise.all(connecting); // never disconnect under a connect still running
    await Promise.allSettled([...map.values()].map((b) => b.disconnect()));
  });
}

export default fp(backendsPlugin, { name: 'sqlgate-backends' });
