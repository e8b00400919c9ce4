import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import type { SqlgateError } from '../../src/errors.js';
import {
  newSessionId,
  type ReplicaIdentity,
  SIGNED_SESSION_ID_PATTERN,
  sessionIdOwner,
} from '../../src/sessions/session-id.js';
import { SessionStore } from '../../src/sessions/session-store.js';
import { backendsOf, FakeBackend, SESSIONS_CONFIG } from './session-fakes.js';

const SECRET = 'a-shared-secret-of-at-least-32-characters';
const R1: ReplicaIdentity = { id: 'r1', secret: SECRET };
const R2: ReplicaIdentity = { id: 'r2', secret: SECRET };
const A: Principal = { id: 'key:a', backends: ['*'], readOnly: false };

function flip(ch: string): string {
  return ch === 'A' ? 'B' : 'A';
}

describe('replica-signed session ids', () => {
  it('name their replica, keep 192 random bits, are URL-safe and verify on every replica', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = newSessionId(R1);
      expect(id).toMatch(SIGNED_SESSION_ID_PATTERN);
      expect(encodeURIComponent(id)).toBe(id);
      const [replica, random] = id.split('.');
      expect(replica).toBe('r1');
      expect(Buffer.from(random as string, 'base64url').length).toBe(24);
      expect(sessionIdOwner(id, R1)).toEqual({ kind: 'local' });
      expect(sessionIdOwner(id, R2)).toEqual({ kind: 'foreign', owner: 'r1' });
      ids.add(id);
    }
    expect(ids.size).toBe(200);
  });

  it('refuse a forged owner, a changed random part, a wrong secret and the unsigned form', () => {
    const id = newSessionId(R1);
    const [, random, mac] = id.split('.') as [string, string, string];
    // Redirecting the id to another replica breaks the signature.
    expect(sessionIdOwner(`r2.${random}.${mac}`, R2)).toEqual({ kind: 'invalid' });
    expect(sessionIdOwner(`r1.${flip(random[0] as string)}${random.slice(1)}.${mac}`, R1)).toEqual({
      kind: 'invalid',
    });
    expect(sessionIdOwner(`r1.${random}.${flip(mac[0] as string)}${mac.slice(1)}`, R1)).toEqual({
      kind: 'invalid',
    });
    expect(sessionIdOwner(id, { id: 'r1', secret: `${SECRET}-other` })).toEqual({ kind: 'invalid' });
    expect(sessionIdOwner(newSessionId(), R1)).toEqual({ kind: 'invalid' });
    // Without a replica configured the old behaviour stands: only the unsigned form is shaped right.
    expect(newSessionId()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(sessionIdOwner(newSessionId(), undefined)).toEqual({ kind: 'local' });
    expect(sessionIdOwner(id, undefined)).toEqual({ kind: 'invalid' });
  });

  it('a store answers its own ids, BACKEND_UNAVAILABLE for a foreign signed id, 404 for a forged one', async () => {
    const backend = new FakeBackend();
    const r1 = new SessionStore({
      config: { ...SESSIONS_CONFIG, replica: R1 },
      backends: backendsOf(backend),
      drainTimeoutMs: 500,
    });
    const r2 = new SessionStore({
      config: { ...SESSIONS_CONFIG, replica: R2 },
      backends: backendsOf(backend),
      drainTimeoutMs: 500,
    });
    try {
      const s = await r1.open(A, {});
      expect(s.id.startsWith('r1.')).toBe(true);
      expect(r1.get(s.id, A)).toBe(s);
      const codeOn = (store: SessionStore, id: string) => {
        try {
          store.get(id, A);
        } catch (err) {
          return (err as SqlgateError).code;
        }
        return 'ok';
      };
      expect(codeOn(r2, s.id)).toBe('BACKEND_UNAVAILABLE');
      const [, random, mac] = s.id.split('.') as [string, string, string];
      expect(codeOn(r2, `r2.${random}.${mac}`)).toBe('SESSION_NOT_FOUND');
      expect(codeOn(r1, newSessionId(R1))).toBe('SESSION_NOT_FOUND');
    } finally {
      await r1.closeAll();
      await r2.closeAll();
    }
  });
});
