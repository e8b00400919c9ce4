#!/usr/bin/env node
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { type Config, ConfigError, isAuthConfigured, isLoopbackHost, loadConfig } from './config.js';

const USAGE = `usage:
  sqlgate serve [--config FILE] [--host HOST] [--port PORT] [--insecure]
  sqlgate check-config [--config FILE]
  sqlgate hash-key [KEY]          prints the SHA-256 to put in auth.apiKeys[].sha256
                                  (without KEY: generates a new random key and prints both)`;

function readConfig(values: { config?: string; host?: string; port?: string; insecure?: boolean }): Config {
  return loadConfig({
    file: values.config,
    overrides: {
      host: values.host,
      port: values.port !== undefined ? Number(values.port) : undefined,
      insecure: values.insecure,
    },
  });
}

/** How long a shutdown may take before close-with-grace exits with code 1. */
const SHUTDOWN_GRACE_MS = 10_000;

/** SQLite files in ./data/ for the zero-config start: make the folder so the first run just works. */
function ensureSqliteDirs(config: Config): void {
  for (const b of Object.values(config.backends)) {
    if (b.driver === 'sqlite' && b.database && b.database !== ':memory:') {
      mkdirSync(dirname(b.database), { recursive: true });
    }
  }
}

async function serve(config: Config): Promise<void> {
  const { host, port, insecure } = config.server;
  const authConfigured = isAuthConfigured(config);
  if (!authConfigured && !isLoopbackHost(host) && !insecure) {
    throw new ConfigError([
      `/server/host: ${host} is reachable from other machines but no auth is configured; ` +
        'configure auth.apiKeys or auth.jwt, listen on 127.0.0.1, or pass --insecure to accept the risk',
    ]);
  }
  ensureSqliteDirs(config);
  const app = await buildApp(config);
  if (!authConfigured) {
    app.log.warn(
      insecure
        ? 'no auth configured and --insecure given: anyone who can reach this port has full access'
        : 'no auth configured: listening on loopback only',
    );
  }
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // The drain (src/plugins/drain.ts) closes idle sockets and answers in-flight requests with
    // Connection: close; a client that still holds a socket open near the deadline is cut off then, so
    // the sessions and pools still close cleanly before the grace timer would exit with code 1.
    const cutOff = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS - 2_000);
    cutOff.unref();
    app.draining = true;
    await app.close();
    clearTimeout(cutOff);
    app.log.info('shut down cleanly');
  });
  // A large backlog: a burst of new connections (1,000 clients at once) overflowed the default 511.
  await app.listen({ host, port, backlog: config.server.backlog });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      insecure: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'serve':
      await serve(readConfig(values));
      return -1;
    case 'check-config': {
      const config = readConfig(values);
      const names = Object.values(config.backends).map((b) => `${b.name} (${b.driver})`);
      process.stdout.write(`configuration is valid; backends: ${names.join(', ')}\n`);
      return 0;
    }
    case 'hash-key': {
      const key = positionals[0] ?? randomBytes(32).toString('base64url');
      if (!positionals[0]) process.stdout.write(`key:    ${key}\n`);
      process.stdout.write(`sha256: ${createHash('sha256').update(key).digest('hex')}\n`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`sqlgate: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
