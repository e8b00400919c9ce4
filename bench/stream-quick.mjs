#!/usr/bin/env node
/**
 * The rate half of scenario 7 alone, for working on streaming throughput: N generated rows through
 * `POST /v1/execute` with `Accept: application/x-ndjson` vs the raw driver's streaming loop, alternating
 * rounds, medians — no RSS runs. With --prof the gateway runs under `node --cpu-prof` and the profile of the
 * measured rounds is printed (bench/profile.mjs --profile=<file> prints it again). Needs `npm run build`;
 * run it through `flock /work/bench.lock`.
 *
 *   node bench/stream-quick.mjs [--backends=postgres,mysql,sqlite] [--rows=1000000] [--rounds=3]
 *                               [--mode=object|array] [--prof]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext, DEFAULT_BACKENDS } from './lib/context.mjs';
import { ROOT, runNodeJson, sleep } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';
import { generatedRows, streamThroughGateway } from './scenarios/stream.mjs';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'postgres,mysql,sqlite' },
    rows: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'object' },
    prof: { type: 'boolean', default: false },
  },
});

const n = Number(values.rows);
const rounds = Number(values.rounds);
const wanted = values.backends.split(',');
const dataDir = mkdtempSync(join(tmpdir(), 'sqlgate-streamq-'));
const runDir = join(ROOT, 'bench/results', `stream-quick-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(runDir, { recursive: true });
const backends = DEFAULT_BACKENDS().filter((b) => wanted.includes(b.driver));
for (const b of backends) if (b.driver === 'sqlite') b.file = join(dataDir, 'bench.sqlite');
const ctx = new BenchContext({ opts: { rounds }, runDir, tmpDir: dataDir, backends });
const options = values.mode === 'array' ? { rowMode: 'array' } : undefined;

for (const b of backends) {
  const profDir = join(runDir, b.driver);
  const gw = await ctx.gateway(`streamq-${b.driver}`, b, {
    pool: 2,
    nodeArgs: values.prof ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : undefined,
  });
  const sql = generatedRows(b.driver, n);
  const g = [];
  const r = [];
  let startUs = 0;
  try {
    await sleep(200);
    await streamThroughGateway(gw, generatedRows(b.driver, Math.min(n, 100_000)), options);
    startUs = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < rounds; i++) {
      const cpu0 = gw.cpuSeconds();
      const s = await streamThroughGateway(gw, sql, options);
      g.push({ ...s, cpuS: gw.cpuSeconds() - cpu0 });
      const x = await runNodeJson(join(ROOT, 'bench/raw-load.mjs'), {
        mode: 'stream',
        driver: b.driver,
        url: b.url,
        file: b.file,
        sql,
      });
      if (x.rows !== n) throw new Error(`raw stream read ${x.rows} of ${n} rows`);
      r.push(x);
    }
  } finally {
    await gw.stop();
  }
  const endUs = Number(process.hrtime.bigint() / 1000n);
  const gRows = median(g.map((x) => x.rowsPerS));
  const rRows = median(r.map((x) => x.rowsPerS));
  const gCpu = median(g.map((x) => (x.cpuS / x.rows) * 1e6));
  const rCpu = median(r.map((x) => (x.cpuS / x.rows) * 1e6));
  process.stdout.write(
    `${b.driver.padEnd(8)} ${n} rows: gateway ${Math.round(gRows)} rows/s (${gCpu.toFixed(2)} µs CPU/row), ` +
      `raw ${Math.round(rRows)} rows/s (${rCpu.toFixed(2)} µs CPU/row), ratio ${(gRows / rRows).toFixed(2)}× ` +
      `[gateway ${g.map((x) => Math.round(x.rowsPerS)).join(', ')}; raw ${r.map((x) => Math.round(x.rowsPerS)).join(', ')}]\n`,
  );
  if (values.prof) {
    for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) {
      process.stdout.write(
        execFileSync(
          process.execPath,
          [
            join(ROOT, 'bench/profile.mjs'),
            `--profile=${join(profDir, f)}`,
            '--top=25',
            `--window=${startUs}:${endUs}`,
          ],
          { encoding: 'utf8' },
        ),
      );
    }
  }
}
rmSync(dataDir, { recursive: true, force: true });
