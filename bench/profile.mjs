#!/usr/bin/env node
/**
 * Profiles the built gateway under the point-query load: starts it with `node --cpu-prof`, drives it with
 * wrk, stops it (the profile is written at exit) and prints where the CPU went: self time by function, by
 * file/package, and inclusive time of the main request stages. Needs `npm run build`.
 *
 *   node bench/profile.mjs [--backend=sqlite|postgres|mysql] [--duration=10] [--connections=16]
 *                          [--sql='select ? as v'] [--top=30] [--profile=<existing.cpuprofile>]
 *                          [--path=/v1/batch --body=<file with the JSON body>]
 *                          [--profile=<file> --window=<startUs>:<endUs>] (monotonic µs, as V8 stamps them)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext, DEFAULT_BACKENDS } from './lib/context.mjs';
import { BULK, ensureWide, POINT_SQL, resetBulk, WIDE } from './lib/data.mjs';
import { openRaw } from './lib/drivers.mjs';
import { ROOT } from './lib/proc.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    sql: { type: 'string' },
    params: { type: 'string' },
    top: { type: 'string', default: '30' },
    profile: { type: 'string' },
    path: { type: 'string', default: '/v1/execute' },
    body: { type: 'string' },
    window: { type: 'string' },
  },
});

/** Self and inclusive milliseconds per node of a .cpuprofile. */
export function analyse(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, self: 0, total: 0 }]));
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    n.self += (profile.timeDeltas[i] ?? 0) / 1000;
  }
  const parent = new Map();
  for (const n of byId.values()) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = (n) => {
    if (n.totalDone) return n.total;
    n.total = n.self + (n.children ?? []).reduce((a, c) => a + total(byId.get(c)), 0);
    n.totalDone = true;
    return n.total;
  };
  for (const n of byId.values()) total(n);
  return { byId, parent };
}

function where(cf) {
  if (!cf.url) return '';
  const path = cf.url.replace(/^file:\/\//, '');
  const rel = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return `${rel.replace(/^node_modules\//, '~')}:${cf.lineNumber + 1}`;
}

function group(cf) {
  const url = cf.url ?? '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:internal';
  if (url.includes('/dist/')) return `sqlgate ${relative(join(ROOT, 'dist'), url.replace(/^file:\/\//, ''))}`;
  if (!url) return cf.functionName ? `(${cf.functionName})` : '(native)';
  return url;
}

/** Keeps only the samples taken between startUs and endUs (CLOCK_MONOTONIC µs, as V8 stamps them). */
function window(profile, startUs, endUs) {
  if (!startUs) return profile;
  const samples = [];
  const timeDeltas = [];
  let t = profile.startTime;
  let last = null;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < startUs || t > endUs) continue;
    samples.push(profile.samples[i]);
    timeDeltas.push(last === null ? 0 : t - last);
    last = t;
  }
  return {
    ...profile,
    samples,
    timeDeltas,
    startTime: Math.max(startUs, profile.startTime),
    endTime: Math.min(endUs, profile.endTime),
  };
}

function report(file, top, startUs, endUs) {
  const profile = window(JSON.parse(readFileSync(file, 'utf8')), startUs, endUs);
  const { byId } = analyse(profile);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const idle = [...byId.values()]
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + n.self, 0);
  const busy = totalMs - idle;
  const fn = new Map();
  const grp = new Map();
  const incl = new Map();
  for (const n of byId.values()) {
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') continue;
    const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`;
    fn.set(key, (fn.get(key) ?? 0) + n.self);
    const g = group(cf);
    grp.set(g, (grp.get(g) ?? 0) + n.self);
  }
  // Inclusive time by function name, counting each stack once (recursion would double count otherwise).
  const walk = (n, seen) => {
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`;
    const first = !seen.has(key);
    if (first) incl.set(key, (incl.get(key) ?? 0) + n.self);
    const next = first ? new Set(seen).add(key) : seen;
    for (const c of n.children ?? []) walk(byId.get(c), next);
    // Attribute descendants' self time to every distinct ancestor key.
  };
  const root = byId.get(profile.nodes[0].id);
  const inclusive = new Map();
  const visit = (n, stack) => {
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`;
    const added = !stack.has(key);
    if (added) stack.add(key);
    if (n.self > 0) for (const k of stack) inclusive.set(k, (inclusive.get(k) ?? 0) + n.self);
    for (const c of n.children ?? []) visit(byId.get(c), stack);
    if (added) stack.delete(key);
  };
  visit(root, new Set());
  void walk;
  const pct = (ms) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  const print = (title, map, n) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      process.stdout.write(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
    }
  };
  process.stdout.write(
    `\n${relative(ROOT, file)}: ${totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (${((busy / totalMs) * 100).toFixed(0)}%)\n`,
  );
  print('self time by package / file (% of busy)', grp, 20);
  print('self time by function', fn, top);
  print('inclusive time by function', new Map([...inclusive].filter(([k]) => !k.startsWith('(root)'))), top);
}

async function main() {
  const top = Number(values.top);
  if (values.profile) {
    const [from, to] = (values.window ?? '').split(':').map(Number);
    return report(values.profile, top, from, to);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sqlgate-prof-'));
  const runDir = join(ROOT, 'bench/results', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(runDir, { recursive: true });
  const b = DEFAULT_BACKENDS().find((x) => x.driver === values.backend);
  if (b.driver === 'sqlite') b.file = join(dataDir, 'bench.sqlite');
  const ctx = new BenchContext({
    opts: { durationS: Number(values.duration), rounds: 1 },
    runDir,
    backends: [b],
  });
  const bodyText = values.body ? readFileSync(values.body, 'utf8') : (values.sql ?? '');
  if (bodyText.includes(WIDE) || bodyText.includes(BULK)) {
    const raw = await openRaw(b);
    if (bodyText.includes(WIDE)) await ensureWide(raw, b.driver);
    if (bodyText.includes(BULK)) await resetBulk(raw, b.driver);
    await raw.close();
  }
  const gw = await ctx.gateway('profile', b, {
    pool: b.driver === 'sqlite' ? 2 : 16,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${runDir}`],
  });
  const body = values.body
    ? bodyText
    : {
        sql: values.sql ?? POINT_SQL[b.driver],
        params: values.params ? JSON.parse(values.params) : values.sql ? [] : [1],
      };
  const path = values.path;
  await ctx.gatewayRun(gw, { body, path, connections: Number(values.connections), durationS: 2 });
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const r = await ctx.gatewayRun(gw, { body, path, connections: Number(values.connections) });
  const endUs = Number(process.hrtime.bigint() / 1000n);
  const errors = Object.values(r.errors).reduce((a, e) => a + e, 0);
  if (errors > 0)
    process.stdout.write(`WARNING: ${errors} failed requests: the profile shows the error path\n`);
  process.stdout.write(
    `load: ${Math.round(r.rps)} req/s, p50 ${r.latencyMs.p50.toFixed(3)} ms, ${r.serverCpuUsPerReq.toFixed(0)} µs gateway CPU/request (profiler on)\n`,
  );
  await gw.stop();
  rmSync(dataDir, { recursive: true, force: true });
  const files = readdirSync(runDir).filter((f) => f.endsWith('.cpuprofile'));
  // Only the measured run: start-up (module loading, schema compilation) and shutdown are left out.
  for (const f of files) report(join(runDir, f), top, startUs, endUs);
  process.stdout.write(`\nper request: divide ms by ${r.requests} requests (x1000 for µs)\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
