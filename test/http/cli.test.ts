import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The real `sqlgate` command, over a real socket. Runs the TypeScript sources through tsx. */
const CLI = ['--import', 'tsx', join(import.meta.dirname, '../../src/cli.ts')];

function startServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; url: string; logs: string[] }> {
  const proc = spawn(process.execPath, [...CLI, 'serve', ...args], {
    env: { ...process.env, ...env, SQLGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 20_000);
    const onData = (chunk: Buffer) => {
      logs.push(String(chunk));
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.join(''));
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], logs });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs.join('')}`)));
  });
}

describe('sqlgate CLI', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it('serves the zero-config SQLite default on loopback and shuts down gracefully on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sqlgate-cli-'));
    const dataFile = join(cwd, 'data.sqlite');
    const { proc, url, logs } = await startServer(['--port', '0'], { DATABASE_URL: `sqlite:${dataFile}` });
    procs.push(proc);
    const res = await fetch(`${url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'select 1 as x' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { columns: Array<{ type: string }>; rows: Array<{ x: unknown }> };
    expect(body.columns[0]?.type).toBe('BIGINT');
    expect(body.rows[0]?.x).toBe('1');
    expect(res.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
    const bad = await fetch(`${url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"sql": "select ?", "params": ["sentinel-cli-param"',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('sentinel-cli-param');
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const all = logs.join('');
    expect(all).toContain('shutting down');
    expect(all).not.toContain('sentinel-cli-param');
  });

  it('refuses a non-loopback host without auth, with a clear message', () => {
    const r = spawnSync(process.execPath, [...CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], {
      env: { ...process.env, DATABASE_URL: 'sqlite::memory:' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/no auth is configured/);
  });

  it('check-config lists every problem and exits non-zero', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqlgate-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server: { port: -1 }\nbackends: { a: { driver: nope } }\nbogus: 1\n');
    const r = spawnSync(process.execPath, [...CLI, 'check-config', '--config', file], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/server\/port/);
    expect(r.stderr).toMatch(/backends\/a/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'backends: { a: { driver: sqlite, database: ":memory:" } }\n');
    const ok = spawnSync(process.execPath, [...CLI, 'check-config', '--config', good], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/valid/);
  });

  it('hash-key prints the SHA-256 of a key', () => {
    const r = spawnSync(process.execPath, [...CLI, 'hash-key', 'abc'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim()).toBe('sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
