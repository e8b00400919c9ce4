/**
 * Scenario 7: NDJSON streaming (issue #14). One result of N generated rows (an integer, a short text and an
 * exact decimal) read end to end:
 *   - rows/s through POST /v1/execute with `Accept: application/x-ndjson` vs the raw driver's own streaming
 *     loop (pg Query 'row' events, mysql2 'result' events, better-sqlite3 iterate()) in its own process,
 *     alternating rounds, medians;
 *   - the gateway's RSS growth over its idle RSS while it streams 1e6 and 1e7 rows (sampled every 50 ms):
 *     it must not grow with the result.
 * The HTTP client counts lines as bytes arrive and checks the trailer says the stream is complete.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { memoryOf, ROOT, runNodeJson, sleep } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

export const id = 'stream';
export const title = '7 NDJSON stream';

/** A query producing `n` rows without a table, in each dialect. */
export function generatedRows(driver, n) {
  switch (driver) {
    case 'postgres':
      return `select i::int8 as id, 'row ' || i as name, i * 0.25 as amount from generate_series(1, ${n}) as g(i)`;
    case 'mysql':
      // MariaDB's SEQUENCE engine: no recursion limit, no temporary table.
      return `select seq as id, concat('row ', seq) as name, seq * 0.25 as amount from seq_1_to_${n}`;
    default:
      return (
        `with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) ` +
        `select i as id, 'row ' || i as name, i * 0.25 as amount from s`
      );
  }
}

/**
 * Streams `sql` (with execute `options`, if given) through the gateway; resolves {rows, durationS, rowsPerS, peakRssMiB} where peakRssMiB is
 * the highest gateway RSS sampled while the stream ran. Throws unless the trailer says done with the rows seen.
 */
export async function streamThroughGateway(gw, sql, options) {
  let peak = memoryOf(gw.pid).rssMiB;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryOf(gw.pid).rssMiB);
  }, 50);
  try {
    const t0 = performance.now();
    // node:http rather than fetch: undici's web streams would make the client the bottleneck.
    const { lines, tail } = await new Promise((resolve, reject) => {
      const req = request(
        `${gw.url}/v1/execute`,
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' } },
        (res) => {
          let n = 0;
          let end = Buffer.alloc(0);
          const chunks = [];
          res.on('data', (chunk) => {
            if (res.statusCode !== 200) return void chunks.push(chunk);
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
            // Keep only the end of the body: the trailer is its last line.
            end = Buffer.concat([end, chunk]).subarray(-4096);
          });
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(
                new Error(
                  `stream answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`,
                ),
              );
            } else resolve({ lines: n, tail: end.toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(options ? { sql, options } : { sql }));
    });
    const durationS = (performance.now() - t0) / 1000;
    const last = tail.trimEnd().split('\n').pop();
    const trailer = JSON.parse(last);
    const rows = lines - 2; // the columns line and the trailer
    if (trailer.done !== true || trailer.rowCount !== rows) {
      throw new Error(`stream incomplete: ${rows} row lines, trailer ${last.slice(0, 300)}`);
    }
    return {
      rows,
      durationS,
      rowsPerS: rows / durationS,
      peakRssMiB: Math.max(peak, memoryOf(gw.pid).rssMiB),
    };
  } finally {
    clearInterval(sampler);
  }
}

export async function run(ctx) {
  const out = {};
  const quick = ctx.opts.quick;
  const rateRows = quick ? 100_000 : 1_000_000;
  const rssSizes = quick ? [100_000, 1_000_000] : [1_000_000, 10_000_000];
  for (const b of ctx.backends) {
    if (b.skip) {
      ctx.skipRow(title, b.driver, b.skip);
      continue;
    }
    const gw = await ctx.gateway(`stream-${b.driver}`, b, { pool: 2 });
    try {
      await sleep(300);
      const idleRssMiB = memoryOf(gw.pid).rssMiB;
      const sql = generatedRows(b.driver, rateRows);
      ctx.log(`stream ${b.driver}: ${rateRows} rows, warm-up + ${ctx.opts.rounds} alternating rounds`);
      await streamThroughGateway(gw, generatedRows(b.driver, Math.min(rateRows, 100_000)));
      const [g, r] = await ctx.alternate([
        () => streamThroughGateway(gw, sql),
        () =>
          runNodeJson(join(ROOT, 'bench/raw-load.mjs'), {
            mode: 'stream',
            driver: b.driver,
            url: b.url,
            file: b.file,
            sql,
          }),
      ]);
      for (const x of r)
        if (x.rows !== rateRows) throw new Error(`raw stream read ${x.rows} of ${rateRows} rows`);
      const gRows = median(g.map((x) => x.rowsPerS));
      const rRows = median(r.map((x) => x.rowsPerS));
      ctx.row({
        scenario: `${title} ${rateRows.toLocaleString('en-US')} rows`,
        backend: b.driver,
        metric: 'rows/s',
        gateway: gRows,
        baseline: rRows,
        ratio: gRows / rRows,
        target: { min: 0.9 },
        rss: gw.memory().peakRssMiB,
      });
      const growth = {};
      for (const n of rssSizes) {
        ctx.log(`stream ${b.driver}: RSS while streaming ${n} rows`);
        const s = await streamThroughGateway(gw, generatedRows(b.driver, n));
        growth[n] = s.peakRssMiB - idleRssMiB;
        ctx.row({
          scenario: `${title} RSS growth, ${n.toLocaleString('en-US')} rows`,
          backend: b.driver,
          metric: 'MiB over idle',
          gateway: `${growth[n].toFixed(1)} MiB`,
          baseline: `idle ${idleRssMiB.toFixed(0)} MiB`,
          ratio: Number.NaN,
          ratioText: '',
          target: { max: 64, value: growth[n], text: '≤ 64 MiB' },
          rss: s.peakRssMiB,
        });
      }
      out[b.driver] = { gateway: g, raw: r, gRows, rRows, ratio: gRows / rRows, idleRssMiB, growth };
    } finally {
      await gw.stop();
    }
  }
  return out;
}
