import { randomBytes } from 'node:crypto';

/** Bytes of randomness in a session id: 192 bits, well above the 128 a guess must beat. */
export const SESSION_ID_BYTES = 24;

/** A new session id: 32 URL-safe characters (base64url, no padding) from the CSPRNG. */
export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/** The shape every id has; anything else is answered 404 without a lookup. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function isSessionIdShaped(id: string): boolean {
  return SESSION_ID_PATTERN.test(id);
}
