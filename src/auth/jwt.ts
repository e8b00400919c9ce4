import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { type Config, ConfigError } from '../config.js';
import type { Principal } from './principal.js';
import { principalLimits } from './scopes.js';
import { TokenRejected } from './token-rejected.js';

type JwtConfig = NonNullable<NonNullable<Config['auth']>['jwt']>;

const HMAC = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const ASYMMETRIC = [...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA'];
const EC_BY_CURVE: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** The algorithms a public key can verify; a token naming any other is refused before any crypto. */
function algorithmsForKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA;
    case 'rsa-pss':
      return RSA.filter((a) => a.startsWith('PS'));
    case 'ec': {
      const alg = EC_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!alg) throw new ConfigError(['/auth/jwt/publicKey: unsupported EC curve']);
      return [alg];
    }
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      throw new ConfigError([`/auth/jwt/publicKey: unsupported key type ${key.asymmetricKeyType}`]);
  }
}

/** `read()`, or a ConfigError naming the setting when it throws (the CLI lists it and exits 78). */
function parseOr<T>(problem: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new ConfigError([problem]);
  }
}

/** The verification key (or JWKS resolver) and the algorithms it may be used with. */
function keyMaterial(cfg: JwtConfig): {
  key: Uint8Array | KeyObject | JWTVerifyGetKey;
  algorithms: string[];
} {
  if (cfg.secret !== undefined) {
    return { key: new TextEncoder().encode(cfg.secret), algorithms: cfg.algorithms ?? HMAC };
  }
  if (cfg.publicKey !== undefined) {
    const key = parseOr('/auth/jwt/publicKey: not a PEM public key', () =>
      createPublicKey(cfg.publicKey as string),
    );
    const usable = algorithmsForKey(key);
    const algorithms = (cfg.algorithms ?? usable).filter((a) => usable.includes(a));
    if (algorithms.length === 0)
      throw new ConfigError(['/auth/jwt/algorithms: none of them fits the public key']);
    return { key, algorithms };
  }
  if (cfg.jwksFile !== undefined) {
    const file = cfg.jwksFile;
    const jwks = parseOr(`/auth/jwt/jwksFile: ${file} cannot be read as a JSON key set`, () =>
      JSON.parse(readFileSync(file, 'utf8')),
    );
    return { key: createLocalJWKSet(jwks), algorithms: cfg.algorithms ?? ASYMMETRIC };
  }
  if (cfg.jwksUrl !== undefined) {
    return {
      key: createRemoteJWKSet(new URL(cfg.jwksUrl), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      }),
      algorithms: cfg.algorithms ?? ASYMMETRIC,
    };
  }
  throw new ConfigError(['/auth/jwt: no key configured']);
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0);
}

function optionalCount(v: unknown, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new TokenRejected(`scope claim member ${name} is not an integer >= ${min}`);
  }
  return v;
}

/**
 * Verifies JWT bearer tokens with jose: signature with the configured key and an allow-list of algorithms
 * (`none` is never in it), `iss`, `aud`, `exp`, `nbf` (with a small clock tolerance) and optionally the token
 * age. The scopes come from one claim (default `sqlgate`):
 * `{"backends": ["main"] | "*", "readOnly": true, "ratePerMinute": 600, "maxSessions": 4, "maxRows": 1000}`
 * (also `maxStreamRows`, `maxStreamBytes`);
 * a token without it gets `defaultScopes` (by default: no backend, read-only). A claim that is present but
 * malformed refuses the token rather than guessing.
 */
export class JwtVerifier {
  private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  readonly algorithms: readonly string[];

  constructor(private readonly cfg: JwtConfig) {
    const material = keyMaterial(cfg);
    this.key = material.key;
    this.algorithms = Object.freeze(material.algorithms.filter((a) => a !== 'none'));
  }

  /** The principal the token names; throws TokenRejected (with the reason, for the log) otherwise. */
  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const opts = {
        algorithms: [...this.algorithms],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: this.cfg.clockToleranceSec,
        ...(this.cfg.maxTokenAgeSec !== undefined ? { maxTokenAge: this.cfg.maxTokenAgeSec } : {}),
      };
      const result =
        typeof this.key === 'function'
          ? await jwtVerify(token, this.key, opts)
          : await jwtVerify(token, this.key, opts);
      payload = result.payload;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw new TokenRejected(code);
    }
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): Principal {
    const subject = payload[this.cfg.subjectClaim];
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) {
      throw new TokenRejected(`claim ${this.cfg.subjectClaim} is missing or not a string`);
    }
    const claim = payload[this.cfg.scopesClaim];
    const defaults = this.cfg.defaultScopes;
    if (claim === undefined) {
      return Object.freeze({
        id: `jwt:${subject}`,
        backends: Object.freeze([...defaults.backends]),
        readOnly: defaults.readOnly,
      });
    }
    if (claim === null || typeof claim !== 'object' || Array.isArray(claim)) {
      throw new TokenRejected(`claim ${this.cfg.scopesClaim} is not an object`);
    }
    const c = claim as Record<string, unknown>;
    let backends: string[];
    if (c.backends === undefined) backends = [...defaults.backends];
    else if (c.backends === '*') backends = ['*'];
    else if (isStringList(c.backends)) backends = c.backends;
    else throw new TokenRejected('scope claim member backends is not a list of names');
    if (c.readOnly !== undefined && typeof c.readOnly !== 'boolean') {
      throw new TokenRejected('scope claim member readOnly is not a boolean');
    }
    return Object.freeze({
      id: `jwt:${subject}`,
      backends: Object.freeze(backends),
      readOnly: (c.readOnly as boolean | undefined) ?? defaults.readOnly,
      ...principalLimits({
        ratePerMinute: optionalCount(c.ratePerMinute, 'ratePerMinute', 0),
        maxSessions: optionalCount(c.maxSessions, 'maxSessions', 1),
        maxRows: optionalCount(c.maxRows, 'maxRows', 1),
        maxStreamRows: optionalCount(c.maxStreamRows, 'maxStreamRows', 1),
        maxStreamBytes: optionalCount(c.maxStreamBytes, 'maxStreamBytes', 1),
      }),
    });
  }
}
