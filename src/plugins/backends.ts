import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createBackend } from '../backend/create-backend.js';
import type { StorageBackend } from '../backend/storage-backend.js';
import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';

/** Every configured backend by name, created at start and closed with the app. */
export class BackendRegistry {
  constructor(
    private readonly byName: Map<string, StorageBackend>,
    readonly defaultName: string,
  ) {}

  /** The named backend (or the default); BACKEND_NOT_FOUND otherwise. */
  get(name: string | undefined): StorageBackend {
    const backend = this.byName.get(name ?? this.defaultName);
    if (!backend) throw new SqlgateError('BACKEND_NOT_FOUND', `no backend named "${name}" is configured`);
    return backend;
  }

  all(): StorageBackend[] {
    return [...this.byName.values()];
  }
}

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

  app.addHook('onReady', async () => {
    await Promise.all(
      [...map.values()].map(async (b) => {
        try {
          await b.connect();
        } catch (err) {
          app.log.warn(
            { backend: b.name, code: (err as SqlgateError).code },
            'backend not reachable at start',
          );
        }
      }),
    );
  });
  app.addHook('onClose', async () => {
    await Promise.allSettled([...map.values()].map((b) => b.disconnect()));
  });
}

export default fp(backendsPlugin, { name: 'sqlgate-backends' });
