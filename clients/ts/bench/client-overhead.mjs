// Client overhead: the same point query through @sqlgate/client (dist/) and through a bare fetch of the
// identical request, in one run against one gateway, alternating (interleaved blocks, order flipping);
// prints each round and the median throughput ratio client / bare (target >= 0.95).
//
//   npm run build && npm run bench                 # 7 rounds x 2000 queries, SQLite
//   npm run bench -- --quick                       # 3 rounds x 300
//   npm run bench -- --backend postgres            # needs SQLGATE_TEST_PG_URL (or the default test DB)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '../dist/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const quick = args.includes('--quick');
const rounds = Number(flag('rounds', quick ? 3 : 7));
const perRound = Number(flag('queries', quick ? 300 : 2000));
const backend = flag('backend', 'sqlite');
if (rounds < 3) throw new Error('--rounds must be at least 3 (the figure is a median)');

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/src/cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` at the repository root`);
const URLS = {
  postgres: process.env.SQLGATE_TEST_PG_URL ?? 'postgres://sqlgate@127.0.0.1:5432/test',
  mysql: process.env.SQLGATE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

/** A free loopback port in this suite's range (18300-18399). */
async function freePort() {
  for (let port = 18350; port < 18400; port++) {
    const ok = await new Promise((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 18350-18399');
}

/** The gateway with per-request logging off (level warn), so logging weighs on neither side. */
async function startGateway(dir) {
  const db =
    backend === 'sqlite'
      ? `{ driver: sqlite, database: "${join(dir, 'bench.sqlite')}" }`
      : `{ driver: ${backend}, url: "${URLS[backend]}", pool: { max: 4 } }`;
  const port = await freePort();
  const config = join(dir, 'sqlgate.yaml');
  writeFileSync(config, `server: { host: 127.0.0.1, port: ${port} }\nlogging: { level: warn }\nbackends:\n  bench: ${db}\n`);
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { url, child };
    if (Date.now() > deadline) throw new Error('gateway did not start in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'sqlgate-bench-'));
const { url, child } = await startGateway(dir);
try {
  const db = createClient({ url, backend: 'bench' });
  const table = `bench_point_${process.pid}`;
  await db.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name VARCHAR(40), qty INTEGER)`);
  await db.batch(
    `INSERT INTO ${table} (id, name, qty) VALUES (:id, :name, :qty)`,
    Array.from({ length: 100 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, qty: i * 3 })),
  );
  const sql = `SELECT id, name, qty FROM ${table} WHERE id = :id`;

  // Exactly the request the client sends (its default int64 mode is "auto" on the wire).
  const headers = { 'content-type': 'application/json' };
  const bare = async (id) => {
    const res = await fetch(`${url}/v1/execute`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ backend: 'bench', sql, options: { int64: 'auto' }, params: { id } }),
    });
    const body = await res.json();
    if (!res.ok || body.rows.length !== 1) throw new Error(`bare fetch failed: ${JSON.stringify(body)}`);
    return body.rows[0];
  };
  const viaClient = async (id) => {
    const r = await db.execute(sql, { id });
    if (r.rows.length !== 1) throw new Error('client query returned no row');
    return r.rows[0];
  };
  // Both paths must give the same row before anything is timed.
  const [a, b] = [await bare(7), await viaClient(7)];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`rows differ: ${JSON.stringify([a, b])}`);

  // Each round interleaves the two sides in blocks of BLOCK queries (order flipping every block), so
  // load changes on a shared machine fall on both sides alike; a round's figure is its time ratio.
  const BLOCK = 20;
  const timeBlock = async (fn, from) => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) await fn(((from + i) % 100) + 1);
    return performance.now() - t0;
  };
  for (let i = 0; i < Math.min(200, perRound); i++) {
    await bare((i % 100) + 1);
    await viaClient((i % 100) + 1);
  }
  const ratios = [];
  console.log(`backend ${backend}, ${rounds} rounds x ${perRound} sequential point queries per side, interleaved by ${BLOCK}`);
  for (let r = 0; r < rounds; r++) {
    const ms = { client: 0, bare: 0 };
    for (let b = 0; b * BLOCK < perRound; b++) {
      const order = (b + r) % 2 === 0 ? ['client', 'bare'] : ['bare', 'client'];
      for (const side of order) ms[side] += await timeBlock(side === 'client' ? viaClient : bare, b * BLOCK);
    }
    const n = Math.ceil(perRound / BLOCK) * BLOCK;
    const qps = { client: n / (ms.client / 1000), bare: n / (ms.bare / 1000) };
    ratios.push(qps.client / qps.bare);
    console.log(
      `round ${r + 1}: client ${qps.client.toFixed(0)} q/s, bare fetch ${qps.bare.toFixed(0)} q/s, ratio ${(qps.client / qps.bare).toFixed(3)}`,
    );
  }
  await db.execute(`DROP TABLE ${table}`);
  const m = median(ratios);
  console.log(`client/bare throughput ratio (median of ${rounds}): ${m.toFixed(3)}x (target >= 0.95x)`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
