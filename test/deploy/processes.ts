import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real processes for the deployment tests: sqlgate replicas (the CLI through tsx), HAProxy, PgBouncer,
 * private PostgreSQL servers. Everything binds to loopback; everything started is killed by `stopAll()`.
 */

const CLI = ['--import', 'tsx', join(import.meta.dirname, '../../src/cli.ts')];

const started: ChildProcess[] = [];
const dirs: string[] = [];

/** Why a test that needs `tool` cannot run here (null when it can); under CI a missing tool is an error. */
export function toolSkipReason(tool: string, installHint: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
  if (found) return null;
  const reason = `${tool} is not installed (${installHint}, or run .ci/steps/deploy.sh)`;
  if (process.env.CI) throw new Error(`CI is set but ${reason}`);
  console.warn(`[skip] ${reason}`);
  return reason;
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `sqlgate-${prefix}-`));
  dirs.push(d);
  return d;
}

export interface Proc {
  proc: ChildProcess;
  logs: string[];
}

/** Starts a process; its output is kept (for failure messages) and it is killed by stopAll(). */
export function startProcess(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (c: Buffer) => logs.push(String(c)));
  proc.stderr?.on('data', (c: Buffer) => logs.push(String(c)));
  started.push(proc);
  return { proc, logs };
}

/** Polls `check` every 100 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A sqlgate replica on `port` with the given config document; resolves once /healthz answers. */
export async function startReplica(port: number, doc: Record<string, unknown>): Promise<Proc> {
  const file = join(tempDir('replica'), 'sqlgate.json');
  writeFileSync(file, JSON.stringify({ ...doc, server: { host: '127.0.0.1', port } }));
  const p = startProcess(process.execPath, [...CLI, 'serve', '--config', file]);
  // Generous: tsx compiles the sources at start, and the machine is shared.
  await waitFor(
    `replica on ${port}: ${p.logs.join('')}`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`replica exited: ${p.logs.join('')}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    },
    60_000,
  );
  return p;
}

/**
 * A TCP relay from an ephemeral loopback port to `target`: `cut()` drops every connection and refuses
 * new ones (the database "goes away" for whoever uses the relay), `restore()` lets them through again.
 */
export async function tcpRelay(target: { host: string; port: number }) {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(target);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Kills every process started here (SIGKILL: the tests have already checked what they wanted). */
export async function stopAll(): Promise<void> {
  const exits = started.splice(0).map(
    (p) =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
