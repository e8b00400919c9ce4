import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a session id: 192 bits, well above the 128 a guess must beat. */
export const SESSION_ID_BYTES = 24;

/** Bytes of HMAC-SHA256 kept in a replica-signed id: 128 bits, so a forgery is a 2^-128 guess. */
const MAC_BYTES = 16;

/**
 * Which replica of a scaled-out deployment this process is, and the secret all replicas share.
 * With it every session id names its owner and is signed, so a balancer can route on the id and a
 * replica can tell a real foreign id (owner unreachable) from a forged or mistyped one.
 */
export interface ReplicaIdentity {
  /** This replica's id: lowercase letters, digits and '-', 1–32 characters; unique per deployment. */
  id: string;
  /** The HMAC key every replica of the deployment shares (≥ 32 characters). */
  secret: string;
}

/** The shape of an unsigned id (no replica configured); anything else is answered 404 without a lookup. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** `<replica>.<32 random chars>.<22 chars of MAC>`: the replica prefix is what balancers route on. */
export const SIGNED_SESSION_ID_PATTERN =
  /^([a-z0-9][a-z0-9-]{0,31})\.([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{22})$/;

function mac(secret: string, replicaId: string, random: string): string {
  return createHmac('sha256', secret)
    .update(`sqlgate-session-v1:${replicaId}.${random}`)
    .digest()
    .subarray(0, MAC_BYTES)
    .toString('base64url');
}

/**
 * A new session id from the CSPRNG: 32 URL-safe characters (base64url, no padding) without a replica,
 * or `<replica>.<random>.<mac>` with one.
 */
export function newSessionId(replica?: ReplicaIdentity): string {
  const random = randomBytes(SESSION_ID_BYTES).toString('base64url');
  if (!replica) return random;
  return `${replica.id}.${random}.${mac(replica.secret, replica.id, random)}`;
}

/**
 * Who owns an id, as far as this replica can tell without a lookup:
 * `local` (could be one of ours), `foreign` (validly signed by another replica: `owner` says which),
 * `invalid` (wrong shape or a signature that does not verify: answer 404).
 */
export type SessionIdOwner = { kind: 'local' } | { kind: 'foreign'; owner: string } | { kind: 'invalid' };

export function sessionIdOwner(id: string, replica?: ReplicaIdentity): SessionIdOwner {
  if (!replica) return SESSION_ID_PATTERN.test(id) ? { kind: 'local' } : { kind: 'invalid' };
  const m = SIGNED_SESSION_ID_PATTERN.exec(id);
  if (!m) return { kind: 'invalid' };
  const [, owner, random, given] = m as unknown as [string, string, string, string];
  const expected = Buffer.from(mac(replica.secret, owner, random));
  if (!timingSafeEqual(expected, Buffer.from(given))) return { kind: 'invalid' };
  return owner === replica.id ? { kind: 'local' } : { kind: 'foreign', owner };
}

/** True when the id has a shape this process could have issued (unsigned form only). */
export function isSessionIdShaped(id: string): boolean {
  return SESSION_ID_PATTERN.test(id);
}
