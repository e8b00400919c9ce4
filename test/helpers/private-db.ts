import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * PRIVATE database servers for the fault suite (test/fault): started in a temp folder on a fixed port of
 * their own, so a test can kill and restart them without touching the shared servers. PostgreSQL runs as
 * the `postgres` OS user when the tests run as root (initdb refuses root); MariaDB runs with --user=root
 * under root (what CI does) and as the calling user otherwise. Both write a log the test can read.
 */

const PG_BIN = process.env.SQLGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs `cmd` as the postgres OS user when we are root (initdb and postgres refuse to run as root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export interface PrivateServer {
  port: number;
  /** A URL for the gateway config and for direct clients (database `fault`). */
  url: string;
  /** Everything the server logged so far (MariaDB: the general query log). */
  log(): string;
  /** MariaDB only: the error log (aborted connections are warned about there). */
  errorLog?(): string;
  /** Stops the server at once, like a crash (PostgreSQL: immediate shutdown; MariaDB: SIGKILL). */
  crash(): Promise<void>;
  /** Starts it again on the same data (after `crash`). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/**
 * Stops and removes servers an earlier, killed test run left behind (only our own temp folders, found by
 * their name prefix), so the fixed port is free.
 */
function removeStale(prefix: 'sqlgate-fault-pg-' | 'sqlgate-fault-my-'): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(tmpdir(), name);
    try {
      if (prefix === 'sqlgate-fault-pg-' && existsSync(join(dir, 'data', 'postmaster.pid'))) {
        const [c, a] = asPostgres(join(PG_BIN, 'pg_ctl'), [
          '-D',
          join(dir, 'data'),
          '-w',
          '-m',
          'immediate',
          'stop',
        ]);
        execFileSync(c, a, { stdio: 'pipe' });
      }
      if (prefix === 'sqlgate-fault-my-' && existsSync(join(dir, 'mysqld.pid'))) {
        process.kill(Number(readFileSync(join(dir, 'mysqld.pid'), 'utf8').trim()), 'SIGKILL');
      }
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A private PostgreSQL 15 with `log_statement = all` and the pid in every log line. */
export async function startPrivatePostgres(port: number): Promise<PrivateServer> {
  removeStale('sqlgate-fault-pg-');
  const dir = mkdtempSync(join(tmpdir(), 'sqlgate-fault-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  if (isRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asPostgres(join(PG_BIN, cmd), args);
    execFileSync(c, a, { stdio: 'pipe' });
  };
  run('initdb', ['-D', data, '-U', 'sqlgate', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  writeFileSync(
    join(dir, 'extra.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off', // a process crash keeps the OS cache; only a machine crash would need fsync
      'synchronous_commit = on',
      'full_page_writes = off',
      'max_connections = 60',
      'shared_buffers = 32MB',
      "log_statement = 'all'",
      "log_line_prefix = '%p %m '",
      'log_connections = on',
      'log_disconnections = on',
      '',
    ].join('\n'),
  );
  const conf = readFileSync(join(data, 'postgresql.conf'), 'utf8');
  writeFileSync(join(data, 'postgresql.conf'), `${conf}\ninclude '${join(dir, 'extra.conf')}'\n`);
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', data, '-l', logFile, ...args]);
  const start = async () => {
    pgCtl(['-w', '-t', '30', 'start']);
    await waitForPort(port, 30_000);
  };
  await start();
  // A test process that dies without afterAll must not leave the server running on the fixed port.
  const onExit = () => {
    try {
      pgCtl(['-w', '-m', 'immediate', 'stop']);
    } catch {
      // not running
    }
  };
  process.once('exit', onExit);
  run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'sqlgate', 'fault']);
  return {
    port,
    url: `postgres://sqlgate@127.0.0.1:${port}/fault`,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    crash: async () => pgCtl(['-w', '-m', 'immediate', 'stop']),
    start,
    destroy: async () => {
      process.off('exit', onExit);
      onExit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no OS user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A private MariaDB with the general query log on (its file is what `log()` returns). */
export async function startPrivateMariadb(port: number): Promise<PrivateServer> {
  removeStale('sqlgate-fault-my-');
  const dir = mkdtempSync(join(tmpdir(), 'sqlgate-fault-my-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'general.log');
  const errFile = join(dir, 'error.log');
  const user = isRoot ? ['--user=root'] : [];
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...user,
    ],
    { stdio: 'pipe' },
  );
  let proc: ChildProcess | undefined;
  const start = async () => {
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${join(dir, 'mysqld.sock')}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        `--log-error=${errFile}`,
        '--general-log=1',
        `--general-log-file=${logFile}`,
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--max-connections=60',
        '--skip-log-bin',
        ...user,
      ],
      { stdio: 'ignore' },
    );
    proc = child;
    process.once('exit', () => child.kill('SIGKILL'));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(
          new Error(
            `mariadbd exited with ${code}: ${existsSync(errFile) ? readFileSync(errFile, 'utf8') : ''}`,
          ),
        ),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 30_000), exited]);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  await start();
  // --skip-name-resolve: the client from 127.0.0.1 is root@127.0.0.1, which the installer does not create.
  execFileSync(
    'mariadb',
    [
      '--no-defaults',
      `--socket=${join(dir, 'mysqld.sock')}`,
      '-uroot',
      '-e',
      "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; CREATE DATABASE fault;",
    ],
    { stdio: 'pipe' },
  );
  return {
    port,
    url: `mysql://root@127.0.0.1:${port}/fault`,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    errorLog: () => (existsSync(errFile) ? readFileSync(errFile, 'utf8') : ''),
    crash: kill,
    start,
    destroy: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
