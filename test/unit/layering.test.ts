import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The import rules of docs/architecture.md, checked on the source: dependencies point down
 * (routes -> plugins -> query/sessions -> auth -> backend -> backend/<db>), only the factory reaches a
 * database folder, and no two files import each other (type-only imports included). Imports are read
 * with TypeScript's own pre-processor, so `import type`, `export ... from` and `import()` all count.
 */

const ROOT = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each file's relative imports, as repository paths of .ts files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sourceFiles('src'), ...sourceFiles('routes')]) {
    const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, targets);
  }
  return graph;
}

const graph = importGraph();
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

/** The per-database folder a path is in, if any. */
const dbFolder = (path: string) => /^src\/backend\/([^/]+)\//.exec(path)?.[1];

/** The layer of a path; lower layers never import higher ones. */
function layer(path: string): string {
  if (path.startsWith('routes/')) return 'routes';
  if (dbFolder(path)) return 'backend/<db>';
  const top = /^src\/([^/]+)\//.exec(path)?.[1];
  if (top) return top;
  return path; // top-level src files: app.ts, cli.ts, config.ts, errors.ts ...
}

/** What each layer must not import (by layer name). */
const FORBIDDEN: Record<string, string[]> = {
  'backend/<db>': ['routes', 'plugins', 'query', 'sessions', 'auth', 'console', 'src/app.ts', 'src/cli.ts'],
  backend: ['routes', 'plugins', 'query', 'sessions', 'auth', 'console', 'src/app.ts', 'src/cli.ts'],
  auth: ['routes', 'plugins', 'query', 'sessions', 'src/app.ts'],
  query: ['routes', 'plugins', 'sessions', 'src/app.ts'],
  sessions: ['routes', 'plugins', 'src/app.ts'],
  plugins: ['routes', 'src/app.ts'],
  'src/errors.ts': ['routes', 'plugins', 'query', 'sessions', 'auth', 'backend', 'backend/<db>'],
  'src/to-sqlgate-error.ts': ['routes', 'plugins', 'query', 'sessions', 'auth', 'backend', 'backend/<db>'],
  'src/error-body-schema.ts': ['routes', 'plugins', 'query', 'sessions', 'auth', 'backend', 'backend/<db>'],
};

describe('import layering (docs/architecture.md)', () => {
  it('reads a real graph', () => {
    // Guards the test itself: a parser that found nothing would make every rule below pass.
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/app.ts')).toContain('src/config.ts');
    expect(edges.some((e) => e.to === 'src/backend/sqlite/index.ts')).toBe(true);
  });

  it('points every dependency down', () => {
    const wrong = edges
      .filter(({ from, to }) => FORBIDDEN[layer(from)]?.includes(layer(to)))
      .map(({ from, to }) => `${from} (${layer(from)}) imports ${to} (${layer(to)})`);
    expect(wrong).toEqual([]);
  });

  it('lets only create-backend.ts reach into a database folder', () => {
    const wrong = edges
      .filter(({ from, to }) => dbFolder(to) && dbFolder(from) !== dbFolder(to))
      .filter(({ from }) => from !== 'src/backend/create-backend.ts')
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(wrong).toEqual([]);
  });

  it('lets only src/app.ts (the composition root) import routes/', () => {
    const wrong = edges
      .filter(({ from, to }) => from.startsWith('src/') && to.startsWith('routes/'))
      .filter(({ from }) => from !== 'src/app.ts')
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(wrong).toEqual([]);
  });

  /**
   * Known cycles, each with the reason it is still there. The SQLite worker pair belongs to the streaming
   * work (issue #14): WorkerExecOptions should move to a file both workers import.
   */
  const KNOWN_CYCLES = new Set([
    'src/backend/sqlite/sqlite-stream-worker.ts -> src/backend/sqlite/sqlite-worker.ts -> src/backend/sqlite/sqlite-stream-worker.ts',
  ]);

  it('has no import cycle, type-only imports included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (!state.has(next) && graph.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles.filter((c) => !KNOWN_CYCLES.has(c))).toEqual([]);
    // An entry that no longer matches a cycle is stale: delete it.
    expect([...KNOWN_CYCLES].filter((c) => !cycles.includes(c))).toEqual([]);
  });
});
