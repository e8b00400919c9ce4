/**
 * What every scenario shares: options, the backends found on this machine, starting a gateway for one
 * backend, running gateway-vs-baseline rounds in alternating order, and collecting table rows.
 */
import { join } from 'node:path';
import { POINT_SQL } from './data.mjs';
import { MYSQL_URL, PG_URL } from './drivers.mjs';
import { httpLoad } from './load.mjs';
import { busyBetween, machineCpu, postJson, ROOT, runNodeJson, startGateway } from './proc.mjs';
import { fmt, fmtRatio, median } from './stats.mjs';

export const LABEL = { postgres: 'PostgreSQL', mysql: 'MariaDB', sqlite: 'SQLite' };

export class BenchContext {
  constructor({ opts, runDir, tmpDir = runDir, backends }) {
    this.opts = opts;
    this.runDir = runDir;
    /** Scratch files (request bodies, the SQLite database). */
    this.tmpDir = tmpDir;
    /** [{ driver, url?, file?, skip: string|null }] */
    this.backends = backends;
    this.rows = [];
    this.notes = [];
    this.results = {};
  }

  log(msg) {
    process.stderr.write(`[bench] ${msg}\n`);
  }

  usable() {
    return this.backends.filter((b) => !b.skip);
  }

  /** A gateway config document with one backend named "bench" (the default). */
  gatewayConfig(b, { pool = 16, extra = {} } = {}) {
    const backend =
      b.driver === 'sqlite'
        ? { driver: 'sqlite', database: b.file, pool: { max: pool } }
        : { driver: b.driver, url: b.url, pool: { max: pool } };
    return {
      server: { host: '127.0.0.1' },
      // Per-request info logs would be measured too; production runs usually log at warn or above.
      logging: { level: 'warn' },
      defaultBackend: 'bench',
      backends: { bench: backend },
      ...extra,
    };
  }

  /** Starts a gateway for backend `b`; ready once a point query succeeds. */
  async gateway(name, b, { pool, nodeArgs, extra, cli } = {}) {
    const body = { sql: POINT_SQL[b.driver], params: [1] };
    return startGateway({
      name,
      cli,
      logDir: this.runDir,
      config: this.gatewayConfig(b, { pool, extra }),
      nodeArgs,
      ready: async (url) => (await postJson(`${url}/v1/execute`, body)).status === 200,
    });
  }

  /** One wrk run against the gateway, with the gateway's CPU use and machine saturation around it. */
  async gatewayRun(gw, { body, connections, durationS = this.opts.durationS, path, threads, idBase }) {
    const cpu0 = gw.cpuSeconds();
    const m0 = machineCpu();
    const r = await httpLoad({
      url: gw.url,
      path,
      body,
      connections,
      threads,
      durationS,
      idBase,
      tmpDir: this.runDir,
    });
    const cpuS = gw.cpuSeconds() - cpu0;
    return {
      ...r,
      serverCpuS: cpuS,
      serverCpuUsPerReq: (cpuS * 1e6) / r.requests,
      machineBusy: busyBetween(m0, machineCpu()),
    };
  }

  /** One baseline run of bench/raw-load.mjs. */
  async rawRun(args) {
    const m0 = machineCpu();
    const durationS = args.durationS ?? this.opts.durationS;
    const r = await runNodeJson(join(ROOT, 'bench/raw-load.mjs'), {
      warmupS: Math.min(1, durationS / 3),
      durationS,
      ...args,
    });
    return { ...r, machineBusy: busyBetween(m0, machineCpu()) };
  }

  /**
   * Runs each of `fns` once per round, rotating the order every round (A B, B A, ...) so slow drift of
   * this shared machine falls on both sides equally. Returns one array of results per fn.
   */
  async alternate(fns) {
    const out = fns.map(() => []);
    for (let round = 0; round < this.opts.rounds; round++) {
      const order = fns.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) out[i].push(await fns[i](round));
    }
    return out;
  }

  /**
   * Adds a table row. `target` is { min } for a ratio that must be at least min, { max } for a
   * value that must stay at or under max, or undefined for information only.
   */
  row({ scenario, backend, metric, gateway, baseline, ratio, ratioText, target, rss, unit = '' }) {
    let met = '';
    let targetText = '';
    if (target?.min !== undefined) {
      targetText = `≥ ${target.min.toFixed(2)}×`;
      met = Number.isFinite(ratio) ? (ratio >= target.min ? 'yes' : 'NO') : '';
    } else if (target?.max !== undefined) {
      targetText = target.text ?? `≤ ${target.max}`;
      const v = target.value ?? ratio;
      met = Number.isFinite(v) ? (v <= target.max ? 'yes' : 'NO') : '';
    } else if (target?.text) {
      targetText = target.text;
    }
    const r = {
      scenario,
      backend: LABEL[backend] ?? backend ?? '',
      metric,
      gateway: typeof gateway === 'string' ? gateway : fmt(gateway, unit),
      baseline: typeof baseline === 'string' ? baseline : fmt(baseline, unit),
      ratio: ratioText ?? fmtRatio(ratio),
      target: targetText,
      met,
      rss: Number.isFinite(rss) ? `${rss.toFixed(0)} MiB` : '',
    };
    this.rows.push(r);
    return r;
  }

  /** A row that says a scenario did not run for a backend; the reason is printed once under the table. */
  skipRow(scenario, backend, reason) {
    const who = LABEL[backend] ?? backend ?? '';
    const note = `${who ? `${who}: ` : `${scenario}: `}${reason}`;
    if (!this.notes.includes(note)) this.notes.push(note);
    this.rows.push({
      scenario,
      backend: who,
      metric: 'skipped (see notes)',
      gateway: '',
      baseline: '',
      ratio: '',
      target: '',
      met: '',
      rss: '',
    });
  }
}

export { median };

export const DEFAULT_BACKENDS = () => [
  { driver: 'postgres', url: PG_URL },
  { driver: 'mysql', url: MYSQL_URL },
  { driver: 'sqlite' },
];
