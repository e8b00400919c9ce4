#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
/**
 * Output formats against JSON, same run: one 10,000-row result (SQLite, in-process gateway over loopback
 * HTTP) fetched as application/json, text/csv and text/plain, alternating the order each round; medians
 * of the full request time (send, run, serialize, read the whole body). Prints each format's median and
 * its throughput ratio to JSON (JSON median / format median; 1.0 = as fast as JSON, the target is >= 0.8).
 *
 *   npx tsx bench/formats.mjs            5 rounds x 20 requests per format
 *   npx tsx bench/formats.mjs --quick    2 rounds x 5 requests (smoke check)
 *
 * Runs the TypeScript sources through tsx (no build needed). Keep it off a busy machine for the figure.
 */
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rows: { type: 'string', default: '10000' } },
});
const ROUNDS = values.quick ? 2 : 5;
const PER_ROUND = values.quick ? 5 : 20;
const ROWS = Number(values.rows);
const FORMATS = ['application/json', 'text/csv', 'text/plain'];

const dir = mkdtempSync(join(tmpdir(), 'sqlgate-bench-formats-'));
const config = loadConfig({
  document: {
    logging: { level: 'silent' },
    limits: { maxRows: 1_000_000, maxResponseBytes: 256 * 1024 * 1024 },
    backends: { main: { driver: 'sqlite', database: join(dir, 'bench.sqlite') } },
  },
  env: {},
});
const app = await buildApp(config);
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address();

function post(sql, accept) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ sql });
    const started = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/execute',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (c) => {
          bytes += c.length;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${accept}: HTTP ${res.statusCode}`));
          else {
            const t = Object.fromEntries(
              String(res.headers['server-timing'] ?? '')
                .split(', ')
                .map((p) => [p.split(';')[0], Number(p.split('dur=')[1])]),
            );
            resolve({ ms: performance.now() - started, bytes, db: t.db, ser: t.ser });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

await post(
  'CREATE TABLE t (id INTEGER PRIMARY KEY, big BIGINT, dcm DECIMAL, ts TIMESTAMP, name TEXT, note TEXT)',
  'application/json',
);
await post(
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
   INSERT INTO t SELECT i, i * 1000000007, printf('%d.%02d', i, i % 100),
     '2024-05-01T12:00:00.' || printf('%06d', i) || '+00:00', 'name ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE '' END
   FROM n`,
  'application/json',
);
const SQL = 'SELECT id, big, dcm, ts, name, note FROM t ORDER BY id';

const samples = Object.fromEntries(FORMATS.map((f) => [f, []]));
const parts = Object.fromEntries(FORMATS.map((f) => [f, { db: [], ser: [] }]));
const sizes = {};
for (const f of FORMATS) sizes[f] = (await post(SQL, f)).bytes; // warm-up
for (let round = 0; round < ROUNDS; round++) {
  const order = FORMATS.map((_, i) => FORMATS[(i + round) % FORMATS.length]);
  for (const f of order) {
    for (let i = 0; i < PER_ROUND; i++) {
      const r = await post(SQL, f);
      samples[f].push(r.ms);
      parts[f].db.push(r.db);
      parts[f].ser.push(r.ser);
    }
  }
}
await app.close();
rmSync(dir, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const json = median(samples['application/json']);
console.log(
  `formats bench: ${ROWS} rows, ${ROUNDS} rounds x ${PER_ROUND} requests per format, node ${process.version}`,
);
for (const f of FORMATS) {
  const m = median(samples[f]);
  console.log(
    `${f.padEnd(17)} median ${m.toFixed(2).padStart(8)} ms  body ${(sizes[f] / 1024).toFixed(0).padStart(5)} KiB  ` +
      `(db ${median(parts[f].db).toFixed(1)}, serialize ${median(parts[f].ser).toFixed(1)})  ` +
      `vs JSON ${(json / m).toFixed(2)}x`,
  );
}
