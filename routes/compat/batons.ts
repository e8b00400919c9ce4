import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionStore } from '../../src/sessions/session-store.js';
import { HranaProtocolError } from './hrana-values.js';

/**
 * Hrana batons over our sessions. A baton is `<session id>.<sequence>.<mac>`: the session holding the
 * stream's pinned connection, the number of the response that issued it, and an HMAC (key made at start)
 * over both, so a baton cannot be made up. Every response issues the next sequence number and only the
 * newest baton of a stream is accepted: an older one (a replay, or two requests racing) is refused.
 * The session itself stays bound to the principal that opened it, so another caller's baton is refused
 * too. Entries go when the session ends (idle timeout, lifetime, close, shutdown).
 */
export class BatonRegistry {
  private readonly key = randomBytes(32);
  private readonly current = new Map<string, number>();
  /** SQL texts stored on each stream (store_sql), kept across its pipelines. */
  private readonly stored = new Map<string, Map<number, string>>();

  constructor(store: SessionStore) {
    store.on('close', ({ session }) => this.forget(session.id));
  }

  private mac(id: string, seq: number): string {
    return createHmac('sha256', this.key).update(`${id}.${seq}`).digest('base64url').slice(0, 22);
  }

  /** The next baton of the stream on session `id`; earlier batons stop working. */
  issue(id: string): string {
    const seq = (this.current.get(id) ?? 0) + 1;
    this.current.set(id, seq);
    return `${id}.${seq}.${this.mac(id, seq)}`;
  }

  /**
   * The session id a baton names, consuming it: BATON_INVALID when it was not issued here, BATON_REUSED
   * when a newer one exists, STREAM_EXPIRED when its stream has ended.
   */
  redeem(baton: string): string {
    const parts = baton.split('.');
    const [id, seqText, mac] = parts;
    const seq = Number(seqText);
    if (parts.length !== 3 || !id || !mac || !Number.isSafeInteger(seq) || !this.macOk(id, seq, mac)) {
      throw new HranaProtocolError('the baton is not valid', 'BATON_INVALID');
    }
    const now = this.current.get(id);
    if (now === undefined) {
      throw new HranaProtocolError('the stream has expired or was closed', 'STREAM_EXPIRED');
    }
    if (now !== seq) throw new HranaProtocolError('the baton has already been used', 'BATON_REUSED');
    // Consumed now, before the pipeline runs: a second request with the same baton is refused at once.
    this.current.set(id, seq + 1);
    return id;
  }

  /** The SQL texts stored on a stream. */
  sqls(id: string): Map<number, string> {
    let m = this.stored.get(id);
    if (!m) {
      m = new Map();
      this.stored.set(id, m);
    }
    return m;
  }

  /** Drops a stream's state (its session ended). */
  forget(id: string): void {
    this.current.delete(id);
    this.stored.delete(id);
  }

  /** The next baton after a redeem (the number redeem already moved to). */
  reissue(id: string): string {
    const seq = this.current.get(id);
    if (seq === undefined) return this.issue(id);
    return `${id}.${seq}.${this.mac(id, seq)}`;
  }

  /** Streams with a live baton (for tests and metrics). */
  get size(): number {
    return this.current.size;
  }

  private macOk(id: string, seq: number, mac: string): boolean {
    const want = Buffer.from(this.mac(id, seq));
    const got = Buffer.from(mac);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
