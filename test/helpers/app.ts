import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pino from 'pino';
import { buildApp, REDACT_PATHS } from '../../src/app.js';
import { LOG_SANITIZERS } from '../../src/auth/redact.js';
import { type Config, loadConfig } from '../../src/config.js';

/** Every log line any test app wrote, so a test can grep them for secrets. */
export const capturedLogs: string[] = [];

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  /** POST JSON and parse the reply. */
  post(
    url: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  get(
    url: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** POST /v1/execute with `sql`, and `params` / `options` only when given. */
  exec(
    sql: string,
    params?: unknown,
    options?: unknown,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Builds an app from a config document with a capturing logger; `ready()` already awaited. */
export async function makeTestApp(doc: Record<string, unknown>): Promise<TestApp> {
  const config = loadConfig({ document: doc, env: {} });
  const stream = new Writable({
    write(chunk, _enc, cb) {
      capturedLogs.push(String(chunk));
      cb();
    },
  });
  const logger = pino(
    { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, ...LOG_SANITIZERS },
    stream,
  );
  const app = await buildApp(config, { loggerInstance: logger });
  await app.ready();
  const call = async (opts: InjectOptions) => {
    const res = await app.inject(opts);
    let body: unknown = res.body;
    try {
      body = res.json();
    } catch {
      // not JSON; keep the text
    }
    return { status: res.statusCode, body: body as any, headers: res.headers as Record<string, unknown> };
  };
  return {
    app,
    config,
    post: (url, body, headers = {}) =>
      call({
        method: 'POST',
        url,
        payload: body as InjectOptions['payload'],
        headers: { 'content-type': 'application/json', ...headers },
      }),
    get: (url, headers = {}) => call({ method: 'GET', url, headers }),
    exec: (sql, params, options) =>
      call({
        method: 'POST',
        url: '/v1/execute',
        payload: {
          sql,
          ...(params !== undefined ? { params } : {}),
          ...(options ? { options } : {}),
        } as InjectOptions['payload'],
        headers: { 'content-type': 'application/json' },
      }),
    close: () => app.close(),
  };
}
