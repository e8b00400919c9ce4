import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real `sqlgate serve` in a child process (TypeScript through tsx, or the built dist/ when
 * SQLGATE_TEST_DIST is set), for tests that need signals, sockets and exit codes. Listens on port 0.
 */

const ROOT = join(import.meta.dirname, '../..');

export interface GatewayProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  /** Every line it wrote to stdout/stderr so far (pino JSON). */
  logs: string[];
  /** Resolves with the exit code (or the signal name) once it has exited. */
  exited: Promise<number | string | null>;
  /** SIGKILL if still running (afterAll safety net). */
  kill(): void;
}

/** Writes `config` (a config document) to a temp file and starts the gateway on it. */
export function startGateway(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlgate-proc-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({ ...config, server: { host: '127.0.0.1', port: 0, ...(config.server as object) } }),
  );
  const entry = process.env.SQLGATE_TEST_DIST
    ? [join(ROOT, 'dist/src/cli.js')]
    : ['--import', 'tsx', join(ROOT, 'src/cli.ts')];
  const proc = spawn(process.execPath, [...entry, 'serve', '--config', file], {
    cwd: ROOT, // where `--import tsx` resolves
    env: { ...process.env, SQLGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${logs.join('')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      logs.push(String(chunk));
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(logs.join(''));
      if (m?.[1]) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          proc,
          url: `http://127.0.0.1:${port}`,
          port,
          logs,
          exited,
          kill: () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
          },
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${logs.join('')}`));
    });
  });
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One JSON request through `agent` (a keep-alive agent keeps the socket for the next one). */
export function httpJson(
  agent: Agent,
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text so the assertion shows it
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A keep-alive agent with its own sockets, so a test can see them stay open or be closed. */
export function keepAliveAgent(maxSockets = 8): Agent {
  return new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
}

/** Parsed pino lines of a gateway's log. */
export function logRecords(logs: string[]): Array<Record<string, unknown>> {
  return logs
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
