import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { BackendConfig } from './backend/create-backend.js';
import { ScratchConfigSchema } from './sessions/scratch-schema.js';

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
    statementCacheSize: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 100,
      description:
        'PostgreSQL: named prepared statements kept per connection (a statement is prepared on its second ' +
        'run); 0 turns them off, e.g. behind PgBouncer in transaction mode (before 1.21).',
    }),
    replicas: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        maxItems: 16,
        description:
          'PostgreSQL: URLs of streaming read replicas. Autocommit reads (and read-only principals) go ' +
          'there; sessions, batches and writes go to `url`.',
      }),
    ),
    replicaMaxLagMs: Type.Integer({
      minimum: 0,
      default: 5000,
      description: 'A replica whose replay lag exceeds this gets no reads until it catches up.',
    }),
    scratch: Type.Optional(ScratchConfigSchema),
  },
  { additionalProperties: false },
);

/** Optional per-principal limits; each tightens (never loosens) the global one. */
const PrincipalLimits = {
  ratePerMinute: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Requests per minute for this principal; 0 = unlimited.' }),
  ),
  maxSessions: Type.Optional(Type.Integer({ minimum: 1, description: 'Open sessions at once.' })),
  maxRows: Type.Optional(Type.Integer({ minimum: 1, description: 'Rows per result.' })),
  maxStreamRows: Type.Optional(Type.Integer({ minimum: 1, description: 'Rows per streamed result.' })),
  maxStreamBytes: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Bytes of row lines per streamed result.' }),
  ),
};

const ApiKey = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.@-]{1,64}$' }),
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
    ...PrincipalLimits,
  },
  { additionalProperties: false },
);

/** The JWT algorithms a configuration may allow; `none` is not among them and never will be. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const StringOrList = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))]);

const Jwt = Type.Object(
  {
    secret: Type.Optional(
      Type.String({ minLength: 32, description: 'HMAC secret (HS256/384/512), at least 32 bytes.' }),
    ),
    publicKey: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM public key (RS*, PS*, ES*, EdDSA).' }),
    ),
    jwksUrl: Type.Optional(Type.String({ minLength: 1, description: 'https:// URL of a JWKS.' })),
    jwksFile: Type.Optional(Type.String({ minLength: 1, description: 'Path of a JWKS JSON file.' })),
    issuer: StringOrList,
    audience: StringOrList,
    algorithms: Type.Optional(
      Type.Array(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a))), { minItems: 1 }),
    ),
    clockToleranceSec: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
    maxTokenAgeSec: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Reject tokens older than this (iat).' }),
    ),
    subjectClaim: Type.String({ minLength: 1, default: 'sub' }),
    scopesClaim: Type.String({
      minLength: 1,
      default: 'sqlgate',
      description:
        'Claim holding {backends, readOnly, ratePerMinute, maxSessions, maxRows, maxStreamRows, maxStreamBytes}.',
    }),
    defaultScopes: Type.Object(
      {
        backends: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        readOnly: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** Paths that `auth.publicPaths` may open; /v1 is never public. */
export const PUBLIC_PATHS = ['/readyz', '/metrics', '/docs', '/openapi.json'] as const;

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
        headersTimeoutMs: Type.Integer({
          minimum: 1000,
          default: 10_000,
          description: 'A client must send all request headers within this (slow-loris guard).',
        }),
        keepAliveTimeoutMs: Type.Integer({ minimum: 1000, default: 72_000 }),
        maxHeaderBytes: Type.Integer({
          minimum: 8192,
          maximum: 1024 * 1024,
          default: 65_536,
          description:
            'Largest request header block (Node default 16 KiB, too small for big JWTs); more gets 431 HEADERS_TOO_LARGE.',
        }),
        backlog: Type.Integer({
          minimum: 1,
          maximum: 65_535,
          default: 4096,
          description:
            'Connections the OS queues before the server accepts them (listen backlog, capped by the ' +
            'kernel: net.core.somaxconn on Linux).',
        }),
        cors: Type.Optional(
          Type.Object(
            {
              origins: Type.Array(Type.String({ minLength: 1 }), {
                minItems: 1,
                description: 'Exact origins allowed to call from a browser; CORS is off without this.',
              }),
              maxAgeSec: Type.Integer({ minimum: 0, default: 600 }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Optional(
      Type.Object(
        {
          apiKeys: Type.Array(ApiKey, { default: [] }),
          jwt: Type.Optional(Jwt),
          publicPaths: Type.Array(Type.Union(PUBLIC_PATHS.map((p) => Type.Literal(p))), {
            default: ['/readyz', '/docs', '/openapi.json'],
            description: 'Paths served without credentials when auth is configured (/healthz always is).',
          }),
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
        maxStreamRows: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'Most rows in one NDJSON stream (Accept: application/x-ndjson); 0 = unlimited.',
        }),
        maxStreamBytes: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'Most bytes of row lines in one NDJSON stream; 0 = unlimited.',
        }),
        streamIdleTimeoutMs: Type.Integer({
          minimum: 0,
          default: 30_000,
          description:
            'A stream ends (STATEMENT_TIMEOUT) after this long without rows from the database or reads ' +
            'by the client; streams have no statement timeout. 0 = none.',
        }),
        maxBatchStatements: Type.Integer({ minimum: 1, default: 10_000 }),
        maxJsonDepth: Type.Integer({
          minimum: 2,
          maximum: 1000,
          default: 64,
          description: 'Deepest nesting of arrays/objects accepted in a request body.',
        }),
        ratePerMinute: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'Requests per minute per principal unless the principal sets its own; 0 = unlimited.',
        }),
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
        replica: Type.Optional(
          Type.Object(
            {
              id: Type.String({
                pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
                description: 'This replica: every session id starts with it, for the balancer to route on.',
              }),
              secret: Type.String({
                minLength: 32,
                description: 'HMAC key shared by all replicas; session ids are signed with it.',
              }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    compat: Type.Object(
      {
        neon: Type.Object(
          {
            enabled: Type.Boolean({ default: true, description: 'Serve POST /sql (Neon SQL-over-HTTP).' }),
            databases: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
              default: {},
              description:
                'Database name in Neon-Connection-String -> backend name; unlisted names are taken as ' +
                'backend names themselves.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        hrana: Type.Object(
          {
            enabled: Type.Boolean({ default: true, description: 'Serve /v2, /v3 (Hrana over HTTP).' }),
            backend: Type.Optional(
              Type.String({
                minLength: 1,
                description: 'Backend of /v2/pipeline and /v3/pipeline; the default backend when omitted.',
              }),
            ),
            maxPipelineRequests: Type.Integer({
              minimum: 1,
              maximum: 100_000,
              default: 1000,
              description: 'Requests in one pipeline; more is refused with HRANA_PROTO_ERROR.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    console: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'Serve the query console at /console (docs/console.md). The page is static; every query it ' +
            'sends needs the same credentials as any API call.',
        }),
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

/**
 * A config file's text as a value. JSON (a YAML subset) goes through JSON.parse: the first YAML parse in a
 * process costs 10-20 ms of the cold start, JSON.parse of the same text well under 1 ms. Anything else, and
 * JSON that JSON.parse refuses, is parsed as YAML, whose error messages are the ones reported. (Unlike the
 * YAML parser, JSON.parse keeps the last of duplicate keys instead of refusing them.)
 */
function parseDocument(text: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all: YAML flow syntax, or an error the YAML parser reports below
    }
  }
  return parseYaml(text) ?? {};
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
      doc = parseDocument(text);
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
  problems.push(...authProblems(raw));
  if (raw.server.requestTimeoutMs > 0 && raw.server.headersTimeoutMs > raw.server.requestTimeoutMs) {
    problems.push('/server/headersTimeoutMs: must not exceed requestTimeoutMs');
  }
  if (raw.sessions.idleTimeoutMs > raw.sessions.maxLifetimeMs) {
    problems.push('/sessions/idleTimeoutMs: must not exceed maxLifetimeMs');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({ ...raw, defaultBackend, backends });
}

/** Checks of the auth section that a schema cannot express. */
function authProblems(raw: RawConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const k of raw.auth?.apiKeys ?? []) {
    if (!k.key === !k.sha256) problems.push(`/auth/apiKeys/${k.name}: give exactly one of "key" or "sha256"`);
    if (seen.has(k.name)) problems.push(`/auth/apiKeys/${k.name}: names must be unique`);
    seen.add(k.name);
  }
  const jwt = raw.auth?.jwt;
  if (jwt) {
    const sources = [jwt.secret, jwt.publicKey, jwt.jwksUrl, jwt.jwksFile].filter((v) => v !== undefined);
    if (sources.length !== 1) {
      problems.push('/auth/jwt: give exactly one of "secret", "publicKey", "jwksUrl" or "jwksFile"');
    }
    const hmac = jwt.algorithms?.filter((a) => a.startsWith('HS')) ?? [];
    if (jwt.secret && jwt.algorithms && hmac.length !== jwt.algorithms.length) {
      problems.push('/auth/jwt/algorithms: a "secret" only verifies HS256/HS384/HS512');
    }
    if (!jwt.secret && hmac.length > 0) {
      problems.push('/auth/jwt/algorithms: HS* algorithms need "secret"');
    }
    if (jwt.jwksUrl) {
      let url: URL | undefined;
      try {
        url = new URL(jwt.jwksUrl);
      } catch {
        problems.push('/auth/jwt/jwksUrl: not a valid URL');
      }
      if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        problems.push('/auth/jwt/jwksUrl: must be https:// (http:// only on loopback)');
      }
    }
  }
  return problems;
}

/** True when requests must carry credentials (API keys or JWT configured). */
export function isAuthConfigured(config: Pick<RawConfig, 'auth'>): boolean {
  return (config.auth?.apiKeys.length ?? 0) > 0 || config.auth?.jwt !== undefined;
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
