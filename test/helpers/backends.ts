import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecOptions } from '../../src/backend/types.js';

/**
 * The three backends the contract suite runs against. PostgreSQL and MariaDB are found at the URLs in
 * SQLGATE_TEST_PG_URL / SQLGATE_TEST_MYSQL_URL (defaults: what scripts/services.sh sets up). When a server
 * is unreachable its suites are skipped with the reason printed, except under CI, where they fail.
 */

export type Driver = 'sqlite' | 'postgres' | 'mysql';

export const PG_URL = process.env.SQLGATE_TEST_PG_URL ?? 'postgres://sqlgate@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.SQLGATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestBackend {
  driver: Driver;
  /** Why the suite cannot run here, or null when it can. */
  skipReason: string | null;
  /** A backend config document (as in the YAML file) for a fresh backend. */
  backendDoc(extra?: Record<string, unknown>): Record<string, unknown>;
}

function reachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh SQLite file in a temp folder (removed at exit). */
export function tempSqliteFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqlgate-test-'));
  tempDirs.push(dir);
  return join(dir, 'test.sqlite');
}

async function serverBackend(driver: 'postgres' | 'mysql', url: string): Promise<TestBackend> {
  const ok = await reachable(url);
  const what = driver === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL';
  const skipReason = ok ? null : `${what} is not reachable at ${new URL(url).host} (run scripts/services.sh)`;
  if (skipReason && process.env.CI) {
    throw new Error(`CI is set but ${skipReason}: CI must exercise every backend`);
  }
  if (skipReason) console.warn(`[skip] ${skipReason}`);
  return {
    driver,
    skipReason,
    backendDoc: (extra = {}) => ({ driver, url, pool: { max: 10 }, ...extra }),
  };
}

/** Every backend, with the server ones checked for reachability (once per test file). */
export async function testBackends(): Promise<TestBackend[]> {
  return [
    {
      driver: 'sqlite',
      skipReason: null,
      backendDoc: (extra = {}) => ({
        driver: 'sqlite',
        database: tempSqliteFile(),
        pool: { max: 4 },
        ...extra,
      }),
    },
    await serverBackend('postgres', PG_URL),
    await serverBackend('mysql', MYSQL_URL),
  ];
}

/** A table name no other test (or earlier run) uses. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** ExecOptions for tests that call a backend or Connection directly, without HTTP. */
export function directOptions(overrides: Partial<ExecOptions> = {}): ExecOptions {
  return {
    rowMode: 'object',
    int64: 'string',
    timeoutMs: 10_000,
    maxRows: 100_000,
    maxResponseBytes: 1 << 24,
    ...overrides,
  };
}
