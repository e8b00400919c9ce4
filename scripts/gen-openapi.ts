/**
 * Writes openapi/openapi.json from the route schemas: `npm run openapi`. The document comes from
 * buildApp's `app.swagger()`, so every route registered in src/app.ts is in it; test/http/openapi.test.ts
 * fails when the committed file differs from what the routes generate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export const OPENAPI_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.json');

/** The document the routes describe. Independent of the environment: one in-memory SQLite backend. */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const config = loadConfig({
    document: {
      backends: { default: { driver: 'sqlite', database: ':memory:' } },
      logging: { level: 'silent' },
    },
    env: {},
  });
  const app = await buildApp(config);
  try {
    await app.ready();
    // A JSON round trip, as a client sees it (drops undefined members).
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The file's exact text: two-space JSON with a final newline. */
export function formatOpenApi(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const doc = await generateOpenApi();
  mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
  writeFileSync(OPENAPI_FILE, formatOpenApi(doc));
  const paths = Object.keys((doc.paths ?? {}) as object).length;
  process.stdout.write(`wrote ${OPENAPI_FILE} (${paths} paths)\n`);
}
