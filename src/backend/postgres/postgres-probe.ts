import pg from 'pg';

/**
 * A readiness probe on a connection of its own, outside the pool: used by `ping` when every pooled
 * connection is taken (open sessions can hold them all for minutes), so /readyz tells "pool busy" from
 * "database down" instead of waiting for a slot and reporting a healthy database as failed.
 * Opened, asked `SELECT 1` and closed within `timeoutMs`; it exercises the network path and the login.
 */
export async function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'sqlgate-ping',
  });
  // A socket error after the answer must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
