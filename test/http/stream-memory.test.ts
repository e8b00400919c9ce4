import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempSqliteFile, testBackends } from '../helpers/backends.js';
import { postStream, wideSql } from '../helpers/ndjson.js';

/**
 * A slow reader must not grow the gateway's memory: a spawned gateway streams ~85 MB of rows to a client
 * that stops reading after 1,000 rows; while it stalls, the gateway's RSS (read from /proc) stays within
 * a bound far below the result's size, and once it reads again every row arrives. Bounded in MB, not time.
 */
const backends = await testBackends();
const ROWS = 400_000;
/** RSS growth over the idle gateway allowed while a result of ~85 MB waits for its reader. */
const MAX_GROWTH_MB = 64;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) / 1024;
}

function startGateway(configFile: string): Promise<{ proc: ChildProcess; url: string }> {
  const cli = join(import.meta.dirname, '../../src/cli.ts');
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'serve', '--config', configFile, '--port', '0'],
    {
      env: { ...process.env, SQLGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let logs = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${logs}`)), 30_000);
    const onData = (chunk: Buffer) => {
      logs += String(chunk);
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${logs}`)));
  });
}

describe('stream memory under a slow reader (spawned gateway)', () => {
  let gw: { proc: ChildProcess; url: string } | undefined;
  const usable = backends.filter((b) => !b.skipReason);

  beforeAll(async () => {
    const file = join(tempSqliteFile().replace(/test\.sqlite$/, ''), 'gateway.json');
    const docs: Record<string, unknown> = {};
    for (const b of usable) docs[b.driver] = b.backendDoc();
    writeFileSync(file, JSON.stringify({ backends: docs }));
    gw = await startGateway(file);
  }, 40_000);
  afterAll(() => {
    gw?.proc.kill('SIGKILL');
  });

  it.each(usable.map((b) => b.driver))(
    '%s: RSS stays flat while the client does not read, and every row arrives after',
    async (driver) => {
      const g = gw as { proc: ChildProcess; url: string };
      const pid = g.proc.pid as number;
      const url = `${g.url}/v1/execute`;
      // Warm up the code path, so compiling it is not counted as growth.
      const warm = await postStream(url, { sql: wideSql(driver, 20_000), backend: driver });
      await warm.lines(() => undefined);
      const idle = rssMb(pid);

      const s = await postStream(url, { sql: wideSql(driver, ROWS), backend: driver });
      expect(s.status).toBe(200);
      let peak = idle;
      let bad = 0;
      let stalled = false;
      const lines = s.lines((line, i) => {
        if (i >= 1 && i <= ROWS && Number((line as { n: unknown }).n) !== i) bad++;
        if (i === 1000 && !stalled) {
          stalled = true;
          s.pause();
        }
        return undefined;
      });
      // While the reader stalls: sample the gateway for 40 samples; an unbounded gateway would buffer the
      // whole result (hundreds of MB once in JS strings and socket buffers).
      for (let k = 0; k < 40; k++) {
        await new Promise((r) => setTimeout(r, 50));
        peak = Math.max(peak, rssMb(pid));
      }
      s.resume();
      const { count, ended } = await lines;
      expect(ended).toBe(true);
      expect(count).toBe(ROWS + 2);
      expect(bad).toBe(0);
      expect(peak - idle).toBeLessThan(MAX_GROWTH_MB);
    },
    120_000,
  );
});
