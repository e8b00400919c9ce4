/**
 * The baseline: the raw driver in its own Node process, no HTTP. Prints one JSON line.
 *   mode "loop": `concurrency` async loops run `sql` with `params` over a pool of `pool` connections for
 *                `durationS` (after `warmupS`); reports ops/s, rows/s and latency percentiles.
 *   mode "bulk": inserts `rows` rows as multi-row INSERTs of `chunk` rows in one transaction; reports rows/s.
 *   mode "stream": reads `sql` once through the driver's own row-at-a-time interface (pg Query 'row' events,
 *                mysql2 query 'result' events, better-sqlite3 iterate()), keeping no rows; reports rows/s.
 * Usage: node bench/raw-load.mjs '<json options>'
 */
import { BULK, bulkRow, multiRowInsert, resetBulk } from './lib/data.mjs';
import { openRaw } from './lib/drivers.mjs';
import { percentile } from './lib/stats.mjs';

const o = JSON.parse(process.argv[2]);

async function loop() {
  const raw = await openRaw({ driver: o.driver, url: o.url, file: o.file, pool: o.pool });
  const warmEnd = performance.now() + o.warmupS * 1000;
  let start = 0;
  let end = 0;
  let cpu0;
  let ops = 0;
  let rows = 0;
  const lat = [];
  // Phases are decided by the clock in each loop (not timers): a synchronous driver never yields.
  let phase = 'warm';
  const tick = (now) => {
    if (phase === 'warm' && now >= warmEnd) {
      phase = 'measure';
      start = now;
      cpu0 = process.cpuUsage();
    } else if (phase === 'measure' && now >= start + o.durationS * 1000) {
      phase = 'done';
      end = now;
    }
  };
  const worker = async () => {
    while (phase !== 'done') {
      const t0 = performance.now();
      const r = await raw.query(o.sql, o.params);
      const t1 = performance.now();
      tick(t1);
      if (phase === 'measure' && t0 >= start) {
        ops++;
        rows += r.length;
        lat.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  await raw.close();
  const durationS = (end - start) / 1000;
  return {
    ops,
    rows,
    durationS,
    opsPerS: ops / durationS,
    rowsPerS: rows / durationS,
    latencyMs: {
      mean: lat.reduce((a, b) => a + b, 0) / lat.length,
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      p99: percentile(lat, 99),
    },
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

async function bulk() {
  const raw = await openRaw({ driver: o.driver, url: o.url, file: o.file, pool: 1 });
  await resetBulk(raw, o.driver);
  const begin = o.driver === 'mysql' ? 'start transaction' : 'begin';
  const statements = [];
  for (let s = 1; s <= o.rows; s += o.chunk) {
    const n = Math.min(o.chunk, o.rows - s + 1);
    const params = [];
    for (let k = s; k < s + n; k++) params.push(...bulkRow(o.driver, k));
    statements.push({ sql: multiRowInsert(o.driver, BULK, 5, n), params });
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await raw.exec(begin);
  for (const st of statements) await raw.query(st.sql, st.params);
  await raw.exec('commit');
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const [{ n }] = await raw.query(`select count(*) as n from ${BULK}`);
  await raw.close();
  if (Number(n) !== o.rows) throw new Error(`expected ${o.rows} rows, found ${n}`);
  return {
    rows: o.rows,
    durationS: ms / 1000,
    rowsPerS: o.rows / (ms / 1000),
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

/** Counts the rows of one result read through the driver's streaming interface. */
async function streamOnce() {
  const cpu0 = process.cpuUsage();
  let rows = 0;
  if (o.driver === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: o.url });
    await client.connect();
    const t1 = performance.now();
    // A Query with a 'row' listener and no callback does not keep the rows (pg's own streaming mode).
    await new Promise((resolve, reject) => {
      const q = client.query(new pg.Query(o.sql));
      q.on('row', () => rows++);
      q.on('end', resolve);
      q.on('error', reject);
    });
    const ms = performance.now() - t1;
    await client.end();
    return streamResult(rows, ms, cpu0);
  }
  if (o.driver === 'mysql') {
    const { default: mysql } = await import('mysql2');
    const conn = mysql.createConnection({ uri: o.url });
    await new Promise((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    const t1 = performance.now();
    await new Promise((resolve, reject) => {
      const q = conn.query(o.sql);
      q.on('result', () => rows++);
      q.on('end', resolve);
      q.on('error', reject);
    });
    const ms = performance.now() - t1;
    await new Promise((r) => conn.end(r));
    return streamResult(rows, ms, cpu0);
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(o.file, { readonly: true });
  const t1 = performance.now();
  for (const _row of db.prepare(o.sql).iterate()) rows++;
  const ms = performance.now() - t1;
  db.close();
  return streamResult(rows, ms, cpu0);
}

function streamResult(rows, ms, cpu0) {
  const cpu = process.cpuUsage(cpu0);
  return { rows, durationS: ms / 1000, rowsPerS: rows / (ms / 1000), cpuS: (cpu.user + cpu.system) / 1e6 };
}

try {
  const result = o.mode === 'bulk' ? await bulk() : o.mode === 'stream' ? await streamOnce() : await loop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: String(err?.stack ?? err) })}\n`);
  process.exitCode = 1;
}
