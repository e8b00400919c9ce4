import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import type { Principal } from './principal.js';
import { principalLimits } from './scopes.js';

type ApiKeyConfig = NonNullable<Config['auth']>['apiKeys'][number];

interface StoredKey {
  /** SHA-256 of the key; the key itself is never kept. */
  hash: Buffer;
  principal: Principal;
}

/** SHA-256 of a presented or configured key, as the hex `sqlgate hash-key` prints. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The configured API keys. A presented key is hashed once and compared with every stored hash in constant
 * time, without stopping at the first match, so neither the position of a key in the list nor how many bytes
 * of it are right shows in the response time. Hashing first also gives equal-length inputs to
 * `timingSafeEqual`, whatever the length of the presented key.
 */
export class ApiKeyStore {
  private readonly keys: StoredKey[];

  constructor(configured: readonly ApiKeyConfig[]) {
    this.keys = configured.map((k) => ({
      hash: k.sha256 ? Buffer.from(k.sha256, 'hex') : hashApiKey(k.key as string),
      principal: Object.freeze({
        id: `key:${k.name}`,
        backends: Object.freeze([...k.backends]),
        readOnly: k.readOnly,
        ...principalLimits(k),
      }),
    }));
  }

  get size(): number {
    return this.keys.length;
  }

  /** The principal of the key, or undefined when no configured key matches. */
  verify(presented: string): Principal | undefined {
    const hash = hashApiKey(presented);
    let found: Principal | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(hash, k.hash) && found === undefined) found = k.principal;
    }
    return found;
  }
}
