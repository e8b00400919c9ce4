/**
 * Scenario 4: inserting 10,000 rows. POST /v1/batch with paramSets (one request, one transaction) vs the raw
 * driver's multi-row INSERT (1,000-row statements in one transaction), and vs 10,000 POST /v1/execute calls
 * (16 connections, autocommit, as rows/s over a timed run). The table is dropped and re-created before every
 * run.
 */
import { BULK, BULK_INSERT_ONE, bulkRowJson, resetBulk } from '../lib/data.mjs';
import { openRaw } from '../lib/drivers.mjs';
import { postJson } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

export const id = 'bulk';
export const title = '4 bulk insert';

async function countRows(b) {
  const raw = await openRaw({ driver: b.driver, url: b.url, file: b.file });
  try {
    const [{ n }] = await raw.query(`select count(*) as n from ${BULK}`);
    return Number(n);
  } finally {
    await raw.close();
  }
}

async function reset(b) {
  const raw = await openRaw({ driver: b.driver, url: b.url, file: b.file });
  try {
    await resetBulk(raw, b.driver);
  } finally {
    await raw.close();
  }
}

/** Whether this build has POST /v1/batch (another issue); a 404 NOT_FOUND route means not yet. */
async function hasBatch(gw) {
  const r = await postJson(`${gw.url}/v1/batch`, { statements: [{ sql: 'select 1' }] });
  return !(r.status === 404 && r.body?.error?.code === 'NOT_FOUND');
}

export async function run(ctx) {
  const rows = ctx.opts.bulkRows;
  const out = {};
  for (const b of ctx.backends) {
    if (b.skip) {
      ctx.skipRow(title, b.driver, b.skip);
      continue;
    }
    const gw = await ctx.gateway(`bulk-${b.driver}`, b, { pool: b.driver === 'sqlite' ? 2 : 16 });
    try {
      await reset(b);
      const batchAvailable = await hasBatch(gw);
      const insert = BULK_INSERT_ONE(b.driver);
      const paramSets = Array.from({ length: rows }, (_, i) => bulkRowJson(b.driver, i + 1));
      const batchBody = JSON.stringify({ sql: insert, paramSets });
      const template = JSON.stringify({ sql: insert, params: bulkRowJson(b.driver, 1) }).replace(
        /^(.*?"params":\[)1,"row-1"/,
        '$1{{n}},"row-{{n}}"',
      );

      const batchRun = async () => {
        await reset(b);
        const cpu0 = gw.cpuSeconds();
        const t0 = performance.now();
        const r = await postJson(`${gw.url}/v1/batch`, batchBody);
        const s = (performance.now() - t0) / 1000;
        // The gateway's own CPU for the request (all threads): steadier than wall time on a busy machine.
        const cpuMs = (gw.cpuSeconds() - cpu0) * 1000;
        if (r.status !== 200)
          throw new Error(`/v1/batch answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        const n = await countRows(b);
        if (n !== rows) throw new Error(`/v1/batch: expected ${rows} rows, found ${n}`);
        return { durationS: s, rowsPerS: rows / s, cpuMs };
      };
      const rawRun = () =>
        ctx.rawRun({ mode: 'bulk', driver: b.driver, url: b.url, file: b.file, rows, chunk: 1000 });
      // One INSERT per call, 16 connections, timed (wrk cannot stop at an exact count): rows/s.
      // Each run numbers its rows from its own base: an INSERT still in flight when the previous run's
      // load stopped may land after the reset (its client is gone, the statement is not), and must not
      // collide with this run's ids.
      let runNo = 0;
      const executeRun = async () => {
        await reset(b);
        runNo += 1;
        const r = await ctx.gatewayRun(gw, { body: template, connections: 16, idBase: runNo * 10_000_000 });
        const n = await countRows(b);
        const errors = Object.values(r.errors).reduce((a, e) => a + e, 0);
        if (errors > 0 || n < r.requests) {
          throw new Error(
            `/v1/execute inserts: ${errors} errors ${JSON.stringify(r.errors)}, ${n} rows for ${r.requests} responses`,
          );
        }
        return { ...r, rowsPerS: r.rps };
      };

      ctx.log(
        `bulk ${b.driver}: ${ctx.opts.rounds} alternating rounds (${batchAvailable ? 'with' : 'no'} /v1/batch)`,
      );
      const fns = batchAvailable ? [batchRun, rawRun, executeRun] : [rawRun, executeRun];
      const res = await ctx.alternate(fns);
      const [batch, rawR, exec] = batchAvailable ? res : [null, ...res];
      const rawRows = median(rawR.map((x) => x.rowsPerS));
      const execRows = median(exec.map((x) => x.rowsPerS));
      const batchRows = batch ? median(batch.map((x) => x.rowsPerS)) : Number.NaN;
      const batchCpuMs = batch ? median(batch.map((x) => x.cpuMs)) : Number.NaN;
      const rawCpuMs = median(rawR.map((x) => ((x.cpuS ?? Number.NaN) * 1000 * rows) / (x.rows ?? rows)));
      const rss = gw.memory().peakRssMiB;
      out[b.driver] = {
        batch,
        raw: rawR,
        execute: exec,
        batchRows,
        rawRows,
        execRows,
        batchCpuMs,
        rawCpuMs,
        peakRssMiB: rss,
      };
      const label = `${title} ${rows.toLocaleString('en-US')} rows`;
      ctx.row({
        scenario: `${label}: /v1/batch vs raw multi-row`,
        backend: b.driver,
        metric: `rows/s (CPU ms per ${rows.toLocaleString('en-US')} rows)`,
        gateway: batch
          ? `${Math.round(batchRows).toLocaleString('en-US')} (${batchCpuMs.toFixed(0)})`
          : 'n/a (no /v1/batch yet)',
        baseline: `${Math.round(rawRows).toLocaleString('en-US')} (${rawCpuMs.toFixed(0)})`,
        ratio: batchRows / rawRows,
        target: { min: 0.8 },
        rss,
      });
      ctx.row({
        scenario: `${label}: /v1/batch vs 1 row per /v1/execute`,
        backend: b.driver,
        metric: 'rows/s',
        gateway: batch ? batchRows : 'n/a (no /v1/batch yet)',
        baseline: execRows,
        ratio: batchRows / execRows,
        rss,
      });
      ctx.row({
        scenario: `${label}: 1 row per /v1/execute vs raw multi-row`,
        backend: b.driver,
        metric: 'rows/s',
        gateway: execRows,
        baseline: rawRows,
        ratio: execRows / rawRows,
        rss,
      });
    } finally {
      await gw.stop();
    }
  }
  return out;
}
