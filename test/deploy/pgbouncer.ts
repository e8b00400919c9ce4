import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Proc, startProcess, tempDir, waitFor } from './processes.js';

/** Where a private PgBouncer listens, and the URL a backend uses to reach the target database through it. */
export interface PgBouncer extends Proc {
  url: string;
  port: number;
}

/**
 * A private PgBouncer (the Debian package: 1.18 here) on loopback `port`, in front of the database that
 * `targetUrl` names, with trust auth for that URL's user. PgBouncer refuses to run as root, so it drops
 * to `runAs` (default `postgres`) when started by root; its files are made readable for that user.
 */
export async function startPgBouncer(
  targetUrl: string,
  port: number,
  opts: { poolMode?: 'transaction' | 'session'; poolSize?: number; runAs?: string } = {},
): Promise<PgBouncer> {
  const target = new URL(targetUrl);
  const db = target.pathname.slice(1);
  const user = decodeURIComponent(target.username);
  const dir = tempDir('pgbouncer');
  chmodSync(dir, 0o755);
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'userlist.txt');
  writeFileSync(users, `"${user}" ""\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `${db} = host=${target.hostname} port=${target.port || 5432} dbname=${db} user=${user}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = trust',
      `auth_file = ${users}`,
      `pool_mode = ${opts.poolMode ?? 'transaction'}`,
      `default_pool_size = ${opts.poolSize ?? 2}`,
      'max_client_conn = 200',
      // PgBouncer refuses startup parameters it does not know. `options` (a readOnlyUrl pool's
      // default_transaction_read_only) is deliberately NOT ignored: dropping it silently would be worse.
      'ignore_startup_parameters = extra_float_digits',
      'server_reset_query = DISCARD ALL',
      `admin_users = ${user}`,
      '',
    ].join('\n'),
  );
  chmodSync(ini, 0o644);
  chmodSync(users, 0o644);
  const asRoot = process.getuid?.() === 0;
  const p = startProcess('pgbouncer', [...(asRoot ? ['-u', opts.runAs ?? 'postgres'] : []), ini]);
  const url = new URL(targetUrl);
  url.host = `127.0.0.1:${port}`;
  await waitFor(`pgbouncer on ${port}: ${p.logs.join('')}`, async () => {
    if (p.proc.exitCode !== null) throw new Error(`pgbouncer exited: ${p.logs.join('')}`);
    const { connect } = await import('node:net');
    return new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  });
  return { ...p, url: url.toString(), port };
}
