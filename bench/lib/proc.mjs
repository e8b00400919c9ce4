/** Process plumbing: free ports, starting the gateway from dist/, /proc sampling (RSS, CPU). */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/src/cli.js');
const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat counts in these ticks.

export function requireBuild() {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (the benchmark runs the built gateway)`);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set (VmHWM) and current RSS of a live process, in MiB. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
  } catch {
    return { peakRssMiB: Number.NaN, rssMiB: Number.NaN };
  }
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Whole-machine busy/total jiffies, to report how saturated the 2 cores were during a run. */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** Busy fraction of all cores between two machineCpu() samples (0..1). */
export function busyBetween(a, b) {
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : Number.NaN;
}

/**
 * Starts `node dist/src/cli.js serve --config <file> --port <port>` and waits until `ready()` resolves.
 * Output goes to a log file under bench/results/ so a failure can be read afterwards.
 */
export async function startGateway({
  config,
  name,
  logDir,
  nodeArgs = [],
  ready,
  timeoutMs = 15_000,
  cli = CLI,
}) {
  requireBuild();
  const port = await freePort();
  const cfgFile = join(logDir, `${name}.config.json`);
  writeFileSync(cfgFile, JSON.stringify(config, null, 2));
  const logFile = join(logDir, `${name}.log`);
  const out = openSync(logFile, 'w');
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, cli, 'serve', '--config', cfgFile, '--port', String(port)],
    { cwd: ROOT, stdio: ['ignore', out, out], env: { ...process.env, TZ: 'UTC' } },
  );
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + timeoutMs;
  for (;;) {
    if (exited) {
      const log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`gateway "${name}" exited (${JSON.stringify(exited)}) before it was ready:\n${log}`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway "${name}" was not ready within ${timeoutMs} ms (log: ${logFile})`);
    }
    if (await ready(url).catch(() => false)) break;
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  // CPU the process used to get here (all threads): a start-up figure the machine's load does not inflate
  // as much as wall time (10 ms resolution).
  const readyCpuMs = cpuSecondsOf(child.pid) * 1000;
  return {
    url,
    port,
    pid: child.pid,
    child,
    logFile,
    readyMs,
    readyCpuMs,
    memory: () => memoryOf(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** POST JSON and return {status, body}; throws on network errors. */
export async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

/** Runs a child Node script that prints one JSON line on stdout; resolves with that object. */
export function runNodeJson(script, arg, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(arg)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop();
      try {
        const parsed = JSON.parse(last);
        if (code !== 0 || parsed.error) reject(new Error(parsed.error ?? `${script} exited ${code}: ${err}`));
        else resolve(parsed);
      } catch {
        reject(new Error(`${script} exited ${code}: ${err.trim() || out.trim()}`));
      }
    });
  });
}
