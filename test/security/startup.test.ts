import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Safe by default at startup: the real `sqlgate serve` in a child process. */
const CLI = ['--import', 'tsx', join(import.meta.dirname, '../../src/cli.ts')];

interface Run {
  proc: ChildProcess;
  logs: () => string;
  /** Resolves with the listening URL, or rejects with the exit code and output. */
  listening: Promise<string>;
}

function serve(args: string[], env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [...CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, SQLGATE_LOG_LEVEL: 'info', DATABASE_URL: 'sqlite::memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${out.join('')}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out.push(String(chunk));
      const m = /Server listening at (http:\/\/[^\s"]+)/.exec(out.join(''));
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`exited ${code}`), { code, output: out.join('') }));
    });
  });
  listening.catch(() => {});
  return { proc, logs: () => out.join(''), listening };
}

describe('startup safety', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('a non-loopback host without auth is a startup error (exit 78) naming the fix', async () => {
    const r = serve(['--host', '0.0.0.0']);
    procs.push(r.proc);
    const err = (await r.listening.catch((e: unknown) => e)) as { code: number; output: string };
    expect(err.code).toBe(78);
    expect(err.output).toMatch(/no auth is configured/);
    expect(err.output).toMatch(/--insecure/);
  });

  it('--insecure starts on a non-loopback host and logs a warning', async () => {
    const r = serve(['--host', '0.0.0.0', '--insecure']);
    procs.push(r.proc);
    const url = await r.listening;
    expect(url).toMatch(/^http:\/\//);
    expect(r.logs()).toMatch(/"level":40.*--insecure given/);
    r.proc.kill('SIGTERM');
  });

  it('loopback without auth starts and warns; with auth (JWT only) a non-loopback host is fine', async () => {
    const local = serve(['--host', '127.0.0.1']);
    procs.push(local.proc);
    const url = await local.listening;
    expect(local.logs()).toMatch(/no auth configured: listening on loopback only/);
    const res = await fetch(`${url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"sql":"SELECT 1"}',
    });
    expect(res.status).toBe(200);
    local.proc.kill('SIGTERM');

    const dir = mkdtempSync(join(tmpdir(), 'sqlgate-startup-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'auth:',
        `  jwt: { secret: "$\{JWT_SECRET}", issuer: "https://idp.test/", audience: "sqlgate" }`,
        'backends:',
        '  main: { driver: sqlite, database: ":memory:" }',
      ].join('\n'),
    );
    const remote = serve(['--host', '0.0.0.0', '--config', file], { JWT_SECRET: 'x'.repeat(40) });
    procs.push(remote.proc);
    const remoteUrl = await remote.listening;
    expect(remote.logs()).not.toMatch(/no auth configured/);
    const port = new URL(remoteUrl).port;
    const denied = await fetch(`http://127.0.0.1:${port}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"sql":"SELECT 1"}',
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(remote.logs()).not.toContain('x'.repeat(40));
    remote.proc.kill('SIGTERM');
  });
});
