import { type Static, Type } from '@sinclair/typebox';
import { DRIVERS } from '../backend/drivers.js';
import { ScratchConfigSchema } from './scratch-schema.js';

/*
 * The one configuration schema (TypeBox). Every type of the configuration is derived from it with Static<>:
 * RawConfig here, Config in src/config.ts, BackendConfig in src/backend/backend-config.ts.
 */

export const PoolSchema = Type.Object(
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

export const BackendSchema = Type.Object(
  {
    driver: Type.Union(DRIVERS.map((d) => Type.Literal(d))),
    url: Type.Optional(Type.String({ minLength: 1, description: 'postgres:// or mysql:// connection URL.' })),
    readOnlyUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'URL of a least-privilege user used for read-only principals.',
      }),
    ),
    database: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file path, or ":memory:".' })),
    pool: PoolSchema,
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
    backends: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), BackendSchema),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;

/** One backend entry as the schema describes it, after defaults. */
export type BackendSchemaType = Static<typeof BackendSchema>;
