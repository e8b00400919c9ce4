import { connect } from 'node:net';

/** Where a client is connected and the key the server gave it for cancelling its queries. */
export interface CancelTarget {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

/** CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Sends a CancelRequest for the backend running `target`'s query over a new, short-lived connection (no
 * pool slot, no authentication: the secret key is the credential). The server answers nothing and closes
 * the connection once the signal is sent; the promise resolves then (or after `timeoutMs`), so a caller
 * that waits for it knows a late cancel can no longer hit its next statement. Never rejects.
 * It is sent in plain TCP even when the client uses TLS, which PostgreSQL accepts for cancel requests.
 * @see https://www.postgresql.org/docs/15/protocol-flow.html#id-1.10.6.7.10
 */
export function sendCancel(target: CancelTarget, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const socket = target.host.startsWith('/')
      ? connect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const msg = Buffer.alloc(16);
      msg.writeInt32BE(16, 0);
      msg.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      msg.writeInt32BE(target.processID, 8);
      msg.writeInt32BE(target.secretKey, 12);
      socket.end(msg);
    });
    socket.on('error', () => socket.destroy());
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
