import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The three databases the suites run on, as the gateway's backend names. */
export type Db = 'sqlite' | 'postgres' | 'mysql';

export const PG_URL = process.env.SQLGATE_TEST_PG_URL ?? 'postgres://sqlgate@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.SQLGATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/src/cli.js');

/** A gateway process the test started, and which databases it serves. */
export interface Gateway {
  url: string;
  /** Databases reachable here; the others have a reason in `skipped`. */
  dbs: Db[];
  skipped: Partial<Record<Db, string>>;
  stop(): Promise<void>;
}

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((done) => {
    const s = connect({ host: u.hostname, port: Number(u.port) }, () => {
      s.destroy();
      done(true);
    });
    s.on('error', () => done(false));
    s.setTimeout(2000, () => {
      s.destroy();
      done(false);
    });
  });
}

/**
 * Starts `node dist/src/cli.js serve` on an ephemeral loopback port with a sqlite backend plus postgres and
 * mysql where reachable. Unreachable ones are skipped with a visible reason locally and FAIL when CI is set.
 */
export async function startGateway(extraYaml = '', port = 0): Promise<Gateway> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` at the repository root first`);
  const dir = mkdtempSync(join(tmpdir(), 'sqlgate-client-'));
  const skipped: Partial<Record<Db, string>> = {};
  const dbs: Db[] = ['sqlite'];
  const lines = [
    `server: { host: 127.0.0.1, port: ${port} }`,
    'sessions: { idleTimeoutMs: 30000 }',
    'backends:',
    `  sqlite: { driver: sqlite, database: "${join(dir, 'client.sqlite')}" }`,
  ];
  for (const [db, url] of [
    ['postgres', PG_URL],
    ['mysql', MYSQL_URL],
  ] as const) {
    if (await reachable(url)) {
      dbs.push(db);
      lines.push(`  ${db}: { driver: ${db}, url: "${url}", pool: { max: 5 } }`);
    } else {
      const reason = `${db} is not reachable at ${new URL(url).host}`;
      if (process.env.CI) throw new Error(`CI is set but ${reason}: CI must exercise every backend`);
      console.warn(`[skip] ${reason}`);
      skipped[db] = reason;
    }
  }
  const config = join(dir, 'sqlgate.yaml');
  writeFileSync(config, `${lines.join('\n')}\n${extraYaml}`);
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`gateway did not start in 30 s:\n${output}`)), 30_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/i.exec(output);
      if (m) {
        clearTimeout(timer);
        done(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    dbs,
    skipped,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A table name no other run uses. */
export const uniqueName = (prefix = 't') =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
