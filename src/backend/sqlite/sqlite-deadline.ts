import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The statement deadline inside SQLite (native/sqlgate-deadline.c). better-sqlite3 cannot interrupt a
 * statement, and terminating its worker thread stops JavaScript only: a statement busy in one long step
 * (an aggregate over an endless `WITH RECURSIVE`) kept a core busy for minutes after its timeout, and a
 * SIGTERM waited behind it. With the extension loaded each statement carries its deadline into SQLite,
 * which fails it with SQLITE_INTERRUPT (STATEMENT_TIMEOUT) when it passes; the connection stays usable.
 *
 * Built by `npm run build:native` (a C compiler; the SQLite headers come with better-sqlite3) into
 * `native/build/`. Without it a timed-out statement's worker is still terminated and replaced (the caller
 * gets STATEMENT_TIMEOUT at once), but a long single step then runs on in the background.
 */

/** The file name of the built extension for this platform. */
const FILE = process.platform === 'darwin' ? 'sqlgate-deadline.dylib' : 'sqlgate-deadline.so';

/** How long past its deadline a statement may take to come back before its worker is terminated anyway. */
export const DEADLINE_GRACE_MS = 1000;

let cached: string | null | undefined;

/** The built extension's path, or null when it was not built. Looked up once, from the package root. */
export function deadlineExtensionPath(): string | null {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  cached = null;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      const file = join(dir, 'native', 'build', FILE);
      cached = existsSync(file) ? file : null;
      break;
    }
    dir = dirname(dir);
  }
  return cached;
}
