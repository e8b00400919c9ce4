#!/usr/bin/env node
/**
 * Bulk insert: 10,000 rows through POST /v1/batch with paramSets (one request, one transaction, prepared
 * once) against 10,000 POST /v1/execute calls (one row each, autocommit), and against the raw driver's
 * multi-row INSERT (1,000 rows per statement, one transaction) as the floor. Standalone, not part of
 * `npm test`: it builds the app from dist/ in this process and serves it on a real socket on 127.0.0.1.
 *
 *   npm run build && node bench/bulk-insert.mjs [--rows=10000] [--rounds=3] [--concurrency=1]
 *                                               [--backends=sqlite,postgres,mysql]
 *
 * Each round runs the three methods in a rotated order (alternating, so warm-up and background load do not
 * favour one); the table is dropped and re-created before every run, and the row count checked after it.
 * Prints the median of the rounds and the ratios. PostgreSQL / MariaDB are used when reachable
 * (bash scripts/services.sh); SQLite always (a temp file).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BULK, BULK_INSERT_ONE, bulkRow, bulkRowJson, multiRowInsert, resetBulk } from './lib/data.mjs';
import { MYSQL_URL, openRaw, PG_URL, reachable } from './lib/drivers.mjs';
import { median } from './lib/stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' },
    backends: { type: 'string', default: 'sqlite,postgres,mysql' },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Math.max(1, Number(values.concurrency));
const WANTED = values.backends.split(',').map((s) => s.trim());

if (!existsSync(join(ROOT, 'dist/src/app.js'))) {
  process.stderr.write('bench/bulk-insert.mjs needs the build: run `npm run build` first\n');
  process.exit(1);
}
const { buildApp } = await import(join(ROOT, 'dist/src/app.js'));
const { loadConfig } = await import(join(ROOT, 'dist/src/config.js'));

const log = (msg) => process.stderr.write(`[bulk-insert] ${msg}\n`);

async function post(base, path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** The backends to measure, with a reason for each one that is skipped. */
async function backends(scratch) {
  const out = [];
  if (WANTED.includes('sqlite')) {
    out.push({ driver: 'sqlite', file: join(scratch, 'bulk.sqlite') });
  }
  for (const [driver, url] of [
    ['postgres', PG_URL],
    ['mysql', MYSQL_URL],
  ]) {
    if (!WANTED.includes(driver)) continue;
    if (await reachable(url)) out.push({ driver, url });
    else log(`skipping ${driver}: nothing listens at ${new URL(url).host} (bash scripts/services.sh)`);
  }
  return out;
}

async function startGateway(b) {
  const backend =
    b.driver === 'sqlite'
      ? { driver: 'sqlite', database: b.file, pool: { max: Math.max(2, CONCURRENCY) } }
      : { driver: b.driver, url: b.url, pool: { max: Math.max(4, CONCURRENCY) } };
  const config = loadConfig({
    document: {
      logging: { level: 'warn' },
      limits: { maxBatchStatements: Math.max(10_000, ROWS) },
      server: { bodyLimit: 64 * 1024 * 1024 },
      backends: { bench: backend },
    },
    env: {},
  });
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address();
  return { app, base: `http://127.0.0.1:${port}` };
}

async function count(raw) {
  const [{ n }] = await raw.query(`select count(*) as n from ${BULK}`);
  return Number(n);
}

/** The three methods; each resets the table, times the insert only, then checks the row count. */
function methods(b, base, raw) {
  const insert = BULK_INSERT_ONE(b.driver);
  const batchBody = JSON.stringify({
    sql: insert,
    paramSets: Array.from({ length: ROWS }, (_, i) => bulkRowJson(b.driver, i + 1)),
  });
  const executeBodies = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({ sql: insert, params: bulkRowJson(b.driver, i + 1) }),
  );
  const timed = async (name, fn) => {
    await resetBulk(raw, b.driver);
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const n = await count(raw);
    if (n !== ROWS) throw new Error(`${name} on ${b.driver}: expected ${ROWS} rows, found ${n}`);
    return ms;
  };
  return {
    batch: () => timed('batch', () => post(base, '/v1/batch', batchBody)),
    execute: () =>
      timed('execute', async () => {
        let next = 0;
        const worker = async () => {
          while (next < ROWS) await post(base, '/v1/execute', executeBodies[next++]);
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      }),
    raw: () =>
      timed('raw', async () => {
        const chunk = 1000;
        await raw.exec('BEGIN');
        try {
          for (let start = 0; start < ROWS; start += chunk) {
            const n = Math.min(chunk, ROWS - start);
            const params = [];
            for (let i = 0; i < n; i++) params.push(...bulkRow(b.driver, start + i + 1));
            await raw.query(multiRowInsert(b.driver, BULK, 5, n), params);
          }
          await raw.exec('COMMIT');
        } catch (err) {
          await raw.exec('ROLLBACK');
          throw err;
        }
      }),
  };
}

const fmtMs = (ms) => `${ms.toFixed(0).padStart(7)} ms`;
const fmtX = (x) => `${x.toFixed(1).padStart(6)}x`;

const scratch = mkdtempSync(join(tmpdir(), 'sqlgate-bulk-'));
const results = [];
try {
  for (const b of await backends(scratch)) {
    // One raw connection: BEGIN/COMMIT must reach the same session as the inserts.
    const raw = await openRaw({ driver: b.driver, url: b.url, file: b.file, pool: 1 });
    const { app, base } = await startGateway(b);
    try {
      const m = methods(b, base, raw);
      const order = ['batch', 'execute', 'raw'];
      const times = { batch: [], execute: [], raw: [] };
      log(`${b.driver}: warm-up`);
      await m.batch();
      for (let round = 0; round < ROUNDS; round++) {
        const rotated = order.slice(round % 3).concat(order.slice(0, round % 3));
        for (const name of rotated) {
          const ms = await m[name]();
          times[name].push(ms);
          log(`${b.driver} round ${round + 1}: ${name} ${ms.toFixed(0)} ms`);
        }
      }
      const med = { batch: median(times.batch), execute: median(times.execute), raw: median(times.raw) };
      results.push({ driver: b.driver, ...med });
    } finally {
      await app.close();
      await raw.exec(`drop table if exists ${BULK}`).catch(() => undefined);
      await raw.close();
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const header = `${ROWS.toLocaleString('en-US')} rows, median of ${ROUNDS} alternating rounds, /v1/execute with ${CONCURRENCY} client(s)`;
process.stdout.write(`\n${header}\n\n`);
process.stdout.write(
  'backend     /v1/batch paramSets   /v1/execute x rows   raw multi-row   execute/batch   batch/raw\n',
);
for (const r of results) {
  process.stdout.write(
    `${r.driver.padEnd(10)}  ${fmtMs(r.batch).padStart(19)}   ${fmtMs(r.execute).padStart(18)}   ${fmtMs(r.raw).padStart(13)}   ${fmtX(r.execute / r.batch).padStart(13)}   ${fmtX(r.batch / r.raw).padStart(9)}\n`,
  );
}
process.stdout.write(
  '\nexecute/batch: how many times faster one batch is than one request per row (the issue asks >= 10x).\n' +
    'batch/raw: the gateway batch against the driver alone (1.0x = no overhead).\n',
);
