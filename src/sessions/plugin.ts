import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { SessionStore } from './session-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every open interactive session; see src/sessions/session-store.ts (also the metrics hook). */
    sessions: SessionStore;
  }
}

/**
 * The session store's lifecycle. Register it after the backends plugin: Fastify runs onClose hooks in
 * reverse registration order, so every open session is rolled back and released (SIGTERM -> app.close())
 * before the backends disconnect their pools. The rollback itself starts in preClose (see below).
 */
async function sessionsPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const store = new SessionStore({ config: opts.config.sessions, backends: app.backends, log: app.log });
  app.decorate('sessions', store);
  app.addHook('onReady', async () => store.start());
  const closeAll = async () => {
    const open = store.size;
    await store.closeAll();
    if (open > 0) app.log.info({ sessions: open }, 'rolled back and released the open sessions');
  };
  // preClose: at the start of the shutdown, in parallel with the HTTP drain, not after every keep-alive
  // client has gone (server.close() waits for those before onClose). A request running on a session is
  // let finish first (the store drains each session's queue); later ones get SESSION_EXPIRED.
  app.addHook('preClose', closeAll);
  // Again in onClose for sessions opened by a request that was already running when preClose ran.
  app.addHook('onClose', closeAll);
}

export default fp(sessionsPlugin, { name: 'sqlgate-sessions', dependencies: ['sqlgate-backends'] });
