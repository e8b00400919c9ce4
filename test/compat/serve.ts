import type { AddressInfo } from 'node:net';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** A test app listening on an ephemeral loopback port, so real HTTP clients (neon(), libsql) can reach it. */
export interface ServedApp extends TestApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
}

export async function serveTestApp(doc: Record<string, unknown>): Promise<ServedApp> {
  const t = await makeTestApp(doc);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (t.app.server.address() as AddressInfo).port;
  return { ...t, url: `http://127.0.0.1:${port}`, port };
}
