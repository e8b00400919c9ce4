import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from './faults.js';
import { type Gateway, startGateway } from './gateway.js';

/**
 * The same smoke program (smoke/smoke.mjs: CRUD, transactions, a BLOB, a bigint, a stream) through the
 * BUILT client (dist/) in four real runtimes — Node, Deno, Bun and Cloudflare workerd, each from its npm
 * package — against a gateway this test starts, on every database it serves. A runtime that cannot start
 * fails its test with its exact output; none is skipped.
 */
const HERE = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(HERE, 'node_modules/.bin', name);
const tmp = mkdtempSync(join(tmpdir(), 'sqlgate-runtimes-'));
let gw: Gateway;
/** A loopback URL nothing listens on: how each runtime's refused connection is coded. */
let closed: string;
const procs: ChildProcess[] = [];

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, ms = 90_000): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: HERE, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', (e) => {
      clearTimeout(timer);
      done({ code: -1, out, err: `${err}${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out, err });
    });
  });
}

/** What the smoke reports when every check passed on every backend (15 checks each). */
const expected = (runtime: string) => ({
  runtime,
  backends: Object.fromEntries(gw.dbs.map((db) => [db, 15])),
  // workerd's fetch says only "Network connection lost." for a refused connection: not told apart from a
  // reply lost after sending, so it is (rightly) not retried there. The others name the refusal.
  refused: runtime === 'workerd' ? 'NETWORK_ERROR, not retryable' : 'NETWORK_ERROR, retryable',
});

const parse = (r: Run) => {
  const last = r.out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return { exit: r.code, stdout: r.out, stderr: r.err };
  }
};

beforeAll(async () => {
  gw = await startGateway();
  closed = `http://127.0.0.1:${await closedPort()}`;
  // The smoke imports ../dist: build it from the current source so no stale build is tested.
  const tsc = await run(process.execPath, [join(HERE, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  expect(tsc, 'tsc build').toMatchObject({ code: 0 });
}, 120_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await gw?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('runtime smokes through dist/', () => {
  it('Node', async () => {
    const r = await run(process.execPath, ['smoke/cli.mjs', gw.url, gw.dbs.join(','), closed]);
    expect(parse(r)).toEqual(expected('node'));
  });

  it('Deno (npm deno)', async () => {
    const r = await run(
      bin('deno'),
      ['run', '--no-config', '--no-lock', '--allow-net=127.0.0.1', 'smoke/cli.mjs', gw.url, gw.dbs.join(','), closed],
      { DENO_DIR: join(tmp, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    );
    expect(parse(r)).toEqual(expected('deno'));
  });

  it('Bun (npm bun)', async () => {
    const r = await run(bin('bun'), ['smoke/cli.mjs', gw.url, gw.dbs.join(','), closed], {
      BUN_INSTALL_CACHE_DIR: join(tmp, 'bun'),
      NO_COLOR: '1',
    });
    expect(parse(r)).toEqual(expected('bun'));
  });

  it('Cloudflare workerd (npm workerd), loopback allowed through its network service', async () => {
    const bundled = await build({
      entryPoints: [join(HERE, 'smoke/worker.mjs')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      write: false,
    });
    writeFileSync(join(tmp, 'worker.js'), bundled.outputFiles[0]?.text ?? '');
    const port = await closedPort();
    // workerd refuses private and loopback addresses by default: globalOutbound names a network
    // service that allows them.
    writeFileSync(
      join(tmp, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .smoke),
    (name = "loopback", network = (allow = ["private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const smoke :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "GATEWAY", text = "${gw.url}"),
    (name = "BACKENDS", text = "${gw.dbs.join(',')}"),
    (name = "CLOSED", text = "${closed}"),
  ],
  globalOutbound = "loopback",
);
`,
    );
    const child = spawn(bin('workerd'), ['serve', join(tmp, 'config.capnp')], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(child);
    let log = '';
    child.stdout.on('data', (b: Buffer) => {
      log += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      log += b;
    });
    // Wait (bounded) until workerd listens, or report how it failed to start.
    let res: Response | undefined;
    const deadline = Date.now() + 30_000;
    while (!res && child.exitCode === null && Date.now() < deadline) {
      res = await fetch(`http://127.0.0.1:${port}/`).catch(async () => {
        await new Promise((r) => setTimeout(r, 200));
        return undefined;
      });
    }
    expect(res, `workerd did not answer (exit ${child.exitCode}):\n${log}`).toBeDefined();
    const text = await (res as Response).text();
    expect((res as Response).status, `${text}\n${log}`).toBe(200);
    expect(JSON.parse(text)).toEqual(expected('workerd'));
    child.kill('SIGTERM');
  });
});
