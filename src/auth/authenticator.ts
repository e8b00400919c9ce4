import type { Config } from '../config.js';
import { SqlgateError } from '../errors.js';
import { ApiKeyStore } from './api-keys.js';
import type { JwtVerifier } from './jwt.js';
import type { Principal } from './principal.js';
import { TokenRejected } from './token-rejected.js';

/** The one message every authentication failure gets, so a response never tells which check failed. */
export const UNAUTHORIZED_MESSAGE = 'missing or invalid credentials';

/** RFC 6750 token68 characters; anything else in a bearer token is malformed. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** An authentication failure: the reason is for the log, the client sees UNAUTHORIZED_MESSAGE. */
export class AuthFailure extends SqlgateError {
  constructor(
    readonly reason: string,
    /** Whether the client presented a token at all (RFC 6750: `error="invalid_token"` only then). */
    readonly presented: boolean,
  ) {
    super('UNAUTHORIZED', UNAUTHORIZED_MESSAGE);
  }

  get wwwAuthenticate(): string {
    return this.presented ? 'Bearer realm="sqlgate", error="invalid_token"' : 'Bearer realm="sqlgate"';
  }
}

/**
 * `Authorization: Bearer <api-key-or-jwt>` -> Principal. The API keys are always checked (in constant time);
 * a token shaped like a JWT is then verified as one when JWT auth is configured.
 */
export class Authenticator {
  private readonly keys: ApiKeyStore;
  private readonly jwt: JwtVerifier | undefined;

  /**
   * The authenticator for `auth`. The JWT verifier (and jose, ~45 ms of start-up when loaded as separate
   * modules) is imported only when `auth.jwt` is configured.
   */
  static async create(auth: NonNullable<Config['auth']>): Promise<Authenticator> {
    const jwt = auth.jwt ? new (await import('./jwt.js')).JwtVerifier(auth.jwt) : undefined;
    return new Authenticator(auth, jwt);
  }

  /** With `auth.jwt` configured, `jwt` must be its verifier (`create` makes it). */
  constructor(auth: NonNullable<Config['auth']>, jwt?: JwtVerifier) {
    if (auth.jwt && !jwt)
      throw new SqlgateError('INTERNAL', 'auth.jwt is configured: build the Authenticator with create()');
    this.keys = new ApiKeyStore(auth.apiKeys);
    this.jwt = jwt;
  }

  async authenticate(header: string | string[] | undefined): Promise<Principal> {
    if (header === undefined || header === '') throw new AuthFailure('no Authorization header', false);
    if (Array.isArray(header)) throw new AuthFailure('more than one Authorization header', true);
    if (header.length > MAX_TOKEN_LENGTH + 16) throw new AuthFailure('token too long', true);
    const m = BEARER.exec(header);
    if (!m) throw new AuthFailure('not a Bearer token', true);
    const token = m[1] as string;
    const byKey = this.keys.verify(token);
    if (byKey) return byKey;
    if (this.jwt && JWT_SHAPE.test(token)) {
      try {
        return await this.jwt.verify(token);
      } catch (err) {
        const reason = err instanceof TokenRejected ? err.reason : 'jwt verification failed';
        throw new AuthFailure(`jwt: ${reason}`, true);
      }
    }
    throw new AuthFailure('unknown key', true);
  }
}
