import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { BackendConfig } from './backend/create-backend.js';

/**
 * The one configuration schema. A file (YAML or JSON) plus environment interpolation, checked once at
 * start with every problem listed, then frozen. This is the only module that reads `process.env`.
 */

const Pool = Type.Object(
  {
    max: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'Most connections open at once.',
    }),
    acquireTimeoutMs: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'How long a request waits for a free connection before OVERLOADED.',
    }),
    idleTimeoutMs: Type.Integer({
      minimum: 1000,
      default: 30_000,
      description: 'Idle connections close after this.',
    }),
  },
  { additionalProperties: false, default: {} },
);

const Backend = Type.Object(
  {
    driver: Type.Union([Type.Literal('postgres'), Type.Literal('mysql'), Type.Literal('sqlite')]),
    url: Type.Optional(Type.String({ minLength: 1, description: 'postgres:// or mysql:// connection URL.' })),
    readOnlyUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'URL of a least-privilege user used for read-only principals.',
      }),
    ),
    database: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file path, or ":memory:".' })),
    pool: Pool,
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 5000 }),
    busyTimeoutMs: Type.Integer({
      minimum: 0,
      default: 5000,
      description: 'SQLite: how long a writer waits for the write lock before LOCK_TIMEOUT.',
    }),
  },
  { additionalProperties: false },
);

const ApiKey = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    key: Type.Optional(
      Type.String({
        minLength: 16,
        description: 'The key itself (from an environment variable); or sha256.',
      }),
    ),
    sha256: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'Hex SHA-256 of the key.' }),
    ),
    backends: Type.Array(Type.String({ minLength: 1 }), { default: ['*'] }),
    readOnly: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        bodyLimit: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
        trustProxy: Type.Boolean({ default: false }),
        requestTimeoutMs: Type.Integer({ minimum: 0, default: 120_000 }),
        /** Allows a non-loopback host without auth; off unless given explicitly. */
        insecure: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Optional(
      Type.Object(
        {
          apiKeys: Type.Array(ApiKey, { default: [] }),
        },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Object(
      {
        maxRows: Type.Integer({ minimum: 1, default: 100_000 }),
        maxResponseBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
        statementTimeoutMs: Type.Integer({ minimum: 0, default: 30_000 }),
        maxStatementTimeoutMs: Type.Integer({ minimum: 0, default: 300_000 }),
        maxBatchStatements: Type.Integer({ minimum: 1, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    sessions: Type.Object(
      {
        idleTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
        maxLifetimeMs: Type.Integer({ minimum: 1000, default: 900_000 }),
        maxOpen: Type.Integer({ minimum: 1, default: 256 }),
        maxPerPrincipal: Type.Integer({ minimum: 1, default: 64 }),
        tombstoneMs: Type.Integer({ minimum: 1000, default: 300_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    logging: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    defaultBackend: Type.Optional(Type.String({ minLength: 1 })),
    backends: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), Backend),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;

export interface Config extends Omit<RawConfig, 'backends' | 'defaultBackend'> {
  defaultBackend: string;
  backends: Record<string, BackendConfig>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `${VAR}` / `${VAR:-default}` in every string of the parsed document; unset without default is a problem. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, def?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (def !== undefined) return def;
        problems.push(`${path || '/'}: environment variable ${name} is not set`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}/${i}`, problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, `${path}/${k}`, problems);
    return out;
  }
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** The backend a bare `DATABASE_URL` describes. */
function backendFromUrl(url: string): Record<string, unknown> {
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgres', url };
  if (/^(mysql|mariadb):\/\//.test(url)) return { driver: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  if (url.startsWith('sqlite:')) {
    const database = url.replace(/^sqlite:(\/\/)?/, '') || ':memory:';
    return { driver: 'sqlite', database };
  }
  throw new ConfigError(['DATABASE_URL: expected a postgres://, mysql:// or sqlite: URL']);
}

export interface LoadOptions {
  /** Path to a YAML or JSON file; defaults to SQLGATE_CONFIG. */
  file?: string;
  /** An already parsed document (tests); wins over `file`. */
  document?: unknown;
  env?: NodeJS.ProcessEnv;
  /** CLI flags that override the file. */
  overrides?: { host?: string; port?: number; insecure?: boolean };
}

/** Reads, interpolates, defaults, validates and freezes the configuration; throws ConfigError with every problem. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  let doc: unknown = opts.document;
  const file = opts.file ?? env.SQLGATE_CONFIG;
  if (doc === undefined && file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError([`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  if (doc === undefined || doc === null) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(['the configuration must be an object']);
  doc = interpolate(doc, env, '', problems);
  const working = structuredClone(doc) as Record<string, unknown>;

  if (working.backends === undefined) {
    working.backends = env.DATABASE_URL
      ? { default: backendFromUrl(env.DATABASE_URL) }
      : { default: { driver: 'sqlite', database: './data/sqlgate.sqlite' } };
  }
  const server = (working.server ?? {}) as Record<string, unknown>;
  if (env.SQLGATE_HOST) server.host = env.SQLGATE_HOST;
  if (env.SQLGATE_PORT) server.port = Number(env.SQLGATE_PORT);
  if (opts.overrides?.host !== undefined) server.host = opts.overrides.host;
  if (opts.overrides?.port !== undefined) server.port = opts.overrides.port;
  if (opts.overrides?.insecure) server.insecure = true;
  working.server = server;
  if (env.SQLGATE_LOG_LEVEL)
    working.logging = { ...((working.logging as object) ?? {}), level: env.SQLGATE_LOG_LEVEL };

  // Value.Default does not descend into Record values, so each backend gets its defaults itself.
  if (working.backends && typeof working.backends === 'object' && !Array.isArray(working.backends)) {
    const b = working.backends as Record<string, unknown>;
    for (const k of Object.keys(b)) if (b[k] && typeof b[k] === 'object') b[k] = Value.Default(Backend, b[k]);
  }
  // Interpolated values are strings; Convert turns "9090" into 9090 where the schema wants a number.
  const withDefaults = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, working)) as unknown;
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    problems.push(`${e.path || '/'}: ${e.message}`);
  }
  if (problems.length > 0) throw new ConfigError(dedupe(problems));
  const raw = withDefaults as RawConfig;

  const names = Object.keys(raw.backends);
  if (names.length === 0) problems.push('/backends: at least one backend is required');
  const backends: Record<string, BackendConfig> = {};
  for (const [name, b] of Object.entries(raw.backends)) {
    if (b.driver === 'sqlite' && !b.database)
      problems.push(`/backends/${name}: a sqlite backend needs "database"`);
    if (b.driver !== 'sqlite' && !b.url)
      problems.push(`/backends/${name}: a ${b.driver} backend needs "url"`);
    if (b.driver !== 'sqlite' && b.database)
      problems.push(`/backends/${name}: "database" is for sqlite; use "url"`);
    backends[name] = { name, ...b } as BackendConfig;
  }
  const defaultBackend =
    raw.defaultBackend ?? (names.includes('default') ? 'default' : names[0]) ?? 'default';
  if (!backends[defaultBackend]) problems.push(`/defaultBackend: no backend named "${defaultBackend}"`);
  for (const k of raw.auth?.apiKeys ?? []) {
    if (!k.key === !k.sha256) problems.push(`/auth/apiKeys/${k.name}: give exactly one of "key" or "sha256"`);
  }
  if (raw.sessions.idleTimeoutMs > raw.sessions.maxLifetimeMs) {
    problems.push('/sessions/idleTimeoutMs: must not exceed maxLifetimeMs');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({ ...raw, defaultBackend, backends });
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
