/**
 * Fallback load generator for machines without wrk: `connections` keep-alive sockets, each a loop of
 * POSTs, for a fixed time. Prints the same JSON shape as the wrk runner. It costs more CPU
 * than wrk (its clientCpuS says how much), so ratios measured with it are pessimistic for the gateway.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { percentile } from './stats.mjs';

const opts = JSON.parse(process.argv[2]);
const template = readFileSync(opts.bodyFile, 'utf8');
const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
const target = new URL(opts.url);
const latencies = [];
const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
let requests = 0;
let next = 0;

function post(body) {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: opts.timeoutS * 1000,
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode >= 400) errors.status++;
          resolve();
        });
      },
    );
    req.once('timeout', () => {
      errors.timeout++;
      req.destroy();
    });
    req.once('error', (e) => {
      if (e.code === 'ECONNREFUSED') errors.connect++;
      else errors.read++;
      resolve();
    });
    req.end(body);
  });
}

const cpu0 = process.cpuUsage();
const started = performance.now();
const deadline = started + opts.durationS * 1000;
async function loop() {
  for (;;) {
    if (performance.now() >= deadline) return;
    const n = ++next;
    const body = template.includes('{{n}}')
      ? template.replaceAll('{{n}}', String(opts.idBase + n))
      : template;
    const t = performance.now();
    await post(body);
    latencies.push(performance.now() - t);
    requests++;
  }
}
await Promise.all(Array.from({ length: opts.connections }, loop));
const durationS = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    requests,
    durationS,
    rps: requests / durationS,
    errors,
    latencyMs: {
      mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
    },
    clientCpuS: (cpu.user + cpu.system) / 1e6,
    tool: 'node-http-load',
  })}\n`,
);
