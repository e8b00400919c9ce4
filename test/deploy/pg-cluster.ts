import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './processes.js';

/**
 * A PRIVATE PostgreSQL 15 primary and a streaming replica made with pg_basebackup, in a temp folder, run
 * as the `postgres` user (initdb refuses root) on loopback ports of their own. The test may stop, pause
 * and kill them; `stop()` tears both down and the folder goes with stopAll().
 */

const BIN = '/usr/lib/postgresql/15/bin';

export function pgClusterSkipReason(): string | null {
  if (existsSync(join(BIN, 'pg_basebackup'))) return null;
  const reason = `${BIN}/pg_basebackup is missing (apt-get install postgresql-15, or run .ci/steps/deploy.sh)`;
  if (process.env.CI) throw new Error(`CI is set but ${reason}`);
  console.warn(`[skip] ${reason}`);
  return reason;
}

function asPostgres(cmd: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

export interface PgCluster {
  primaryUrl: string;
  replicaUrl: string;
  /** `pg_ctl stop` of the replica (`immediate`: as if it crashed). */
  stopReplica(mode?: 'fast' | 'immediate'): void;
  startReplica(): void;
  stop(): void;
}

export function startPgCluster(primaryPort: number, replicaPort: number, user = 'sqlgate'): PgCluster {
  const dir = tempDir('pgcluster');
  chmodSync(dir, 0o777);
  const primary = join(dir, 'primary');
  const replica = join(dir, 'replica');
  asPostgres(join(BIN, 'initdb'), ['-D', primary, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8']);
  appendFileSync(
    join(primary, 'postgresql.conf'),
    [
      `port = ${primaryPort}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 16MB',
      'max_connections = 40',
      '',
    ].join('\n'),
  );
  const ctl = (data: string, action: string, extra: string[] = []) =>
    asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', `${data}.log`, action, ...extra]);
  ctl(primary, 'start');
  asPostgres(join(BIN, 'pg_basebackup'), [
    '-h',
    '127.0.0.1',
    '-p',
    String(primaryPort),
    '-U',
    user,
    '-D',
    replica,
    '-R',
    '-X',
    'stream',
    '--no-sync',
  ]);
  appendFileSync(join(replica, 'postgresql.auto.conf'), `port = ${replicaPort}\nhot_standby_feedback = on\n`);
  ctl(replica, 'start');
  let stopped = false;
  return {
    primaryUrl: `postgres://${user}@127.0.0.1:${primaryPort}/postgres`,
    replicaUrl: `postgres://${user}@127.0.0.1:${replicaPort}/postgres`,
    stopReplica: (mode = 'fast') => ctl(replica, 'stop', ['-m', mode]),
    startReplica: () => ctl(replica, 'start'),
    stop() {
      if (stopped) return;
      stopped = true;
      for (const d of [replica, primary]) {
        try {
          ctl(d, 'stop', ['-m', 'immediate']);
        } catch {
          // Already stopped.
        }
      }
    },
  };
}
