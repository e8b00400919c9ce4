/**
 * Who is calling. Every request has one: with no auth configured it is the anonymous local principal
 * (the server then listens on loopback only). Sessions are bound to `id`. The plugin that sets it on
 * every request is src/plugins/principal.ts.
 */
export interface Principal {
  /** Stable identity: `key:<name>`, `jwt:<sub>`, `anonymous`, or `unauthenticated` (public paths). */
  id: string;
  /** Backends this principal may use; `['*']` for all. */
  backends: readonly string[];
  /** Writes are refused (by the database: read-only transactions / connections). */
  readOnly: boolean;
  /** Optional per-principal limits that tighten the global ones. */
  limits?: {
    maxRows?: number;
    maxSessions?: number;
    ratePerMinute?: number;
    /** Rows per NDJSON stream (tightens limits.maxStreamRows). */
    maxStreamRows?: number;
    /** Bytes of row lines per NDJSON stream (tightens limits.maxStreamBytes). */
    maxStreamBytes?: number;
  };
}

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  backends: Object.freeze(['*']),
  readOnly: false,
});

/** A request to a public path (`auth.publicPaths`) when auth is configured: may use no backend at all. */
export const UNAUTHENTICATED: Principal = Object.freeze({
  id: 'unauthenticated',
  backends: Object.freeze([] as string[]),
  readOnly: true,
});

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** A static page without data (routes/console.ts): served without credentials when auth is on. */
    publicPage?: boolean;
  }
}
