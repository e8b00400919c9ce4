/**
 * HTTP load: wrk when installed (a C load generator costs little CPU, which matters on 2 cores), else the
 * in-repo Node generator (bench/lib/http-load.mjs), which costs more and is reported as such.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runNodeJson } from './proc.mjs';

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => spawnSync(p, ['--version']).status !== null);

export const loadTool = WRK ? `wrk (${WRK})` : 'node http-load (fallback; wrk not found)';

/** Converts wrk's text units ("812.00us", "1.20ms", "2.01s") to milliseconds. */
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/** Reads wrk --latency text when the Lua summary line is missing (it never should be). */
export function parseWrkText(text) {
  const pct = (p) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(text)?.[1] ?? '');
  const req = /(\d+) requests in ([\d.]+)(\w+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const durationMs = req ? toMs(`${req[2]}${req[3]}`) : Number.NaN;
  return {
    requests: req ? Number(req[1]) : 0,
    durationS: durationMs / 1000,
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
      status: Number(non2xx?.[1] ?? 0),
    },
    latencyMs: {
      mean: toMs(/^\s+Latency\s+(\S+)/m.exec(text)?.[1] ?? ''),
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
    },
  };
}

function runWrk({ url, script, bodyFile, connections, threads, durationS, timeoutS, env }) {
  const args = [
    '-t',
    String(threads),
    '-c',
    String(connections),
    '-d',
    `${durationS}s`,
    '--timeout',
    `${timeoutS}s`,
    '--latency',
    '-s',
    script,
    url,
  ];
  // `times` after wrk prints the CPU its child (wrk) used: the load generator's cost, reported honestly.
  const cmd = `${WRK} ${args.map((a) => `'${a}'`).join(' ')}; times`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_BODY_FILE: bodyFile, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk failed (${code}): ${err || out}`));
      const times = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trimEnd());
      const clientCpuS = times
        ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])
        : Number.NaN;
      const line = /^BENCHJSON (.*)$/m.exec(out);
      let r;
      if (line) {
        const j = JSON.parse(line[1]);
        r = {
          requests: j.requests,
          durationS: j.durationUs / 1e6,
          errors: j.errors,
          latencyMs: {
            mean: j.latencyUs.mean / 1000,
            p50: j.latencyUs.p50 / 1000,
            p90: j.latencyUs.p90 / 1000,
            p99: j.latencyUs.p99 / 1000,
          },
        };
      } else {
        r = parseWrkText(out);
      }
      resolve({ ...r, rps: r.requests / r.durationS, clientCpuS, tool: 'wrk' });
    });
  });
}

/**
 * Sends `body` to url+path over `connections` keep-alive connections for `durationS` seconds. A string
 * body containing "{{n}}" is a template: every request gets the next number (from idBase + 1) there, e.g.
 * a fresh primary key per INSERT. Returns
 * { rps, requests, durationS, errors, latencyMs: {mean, p50, p90, p99}, clientCpuS, tool }.
 */
export async function httpLoad({
  url,
  path = '/v1/execute',
  body,
  connections,
  threads = connections >= 256 ? 2 : 1,
  durationS,
  timeoutS = 10,
  idBase = 0,
  tmpDir,
}) {
  const bodyFile = join(tmpDir, `body-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(bodyFile, typeof body === 'string' ? body : JSON.stringify(body));
  const template = typeof body === 'string' && body.includes('{{n}}');
  try {
    if (WRK) {
      return await runWrk({
        url: url + path,
        script: join(ROOT, 'bench/wrk', template ? 'insert.lua' : 'post.lua'),
        bodyFile,
        connections,
        // Template numbers are per wrk thread: one thread keeps them unique.
        threads: template ? 1 : threads,
        durationS,
        timeoutS,
        env: { BENCH_ID_BASE: String(idBase) },
      });
    }
    return await runNodeJson(join(ROOT, 'bench/lib/http-load.mjs'), {
      url: url + path,
      bodyFile,
      connections,
      durationS,
      timeoutS,
      idBase,
    });
  } finally {
    rmSync(bodyFile, { force: true });
  }
}
