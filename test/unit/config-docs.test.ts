import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';

/**
 * docs/configuration.md has a row for every option of ConfigSchema, with its default, and no row for an
 * option that does not exist. Add a row when you add an option.
 */

const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

interface Option {
  path: string;
  default: unknown;
}

/** Every leaf option: objects are walked, records become `<name>`, lists of objects `[]`. */
function options(schema: TSchema, path: string, out: Option[]): Option[] {
  const s = schema as TSchema & {
    properties?: Record<string, TSchema>;
    patternProperties?: Record<string, TSchema>;
    items?: TSchema;
  };
  if (s.type === 'object' && s.properties) {
    for (const [k, v] of Object.entries(s.properties)) options(v, path ? `${path}.${k}` : k, out);
  } else if (s.type === 'object' && s.patternProperties) {
    for (const v of Object.values(s.patternProperties)) options(v, `${path}.<name>`, out);
  } else if (s.type === 'array' && s.items?.type === 'object') {
    options(s.items, `${path}[]`, out);
  } else {
    out.push({ path, default: s.default });
  }
  return out;
}

const all = options(ConfigSchema, '', []);
const rows = new Map<string, string>();
for (const m of docs.matchAll(/^\|\s*`([a-zA-Z0-9<>[\].]+)`\s*\|(.*)$/gm)) rows.set(m[1]!, m[2]!);

function rendered(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

describe('docs/configuration.md', () => {
  it('has a row for every option', () => {
    const missing = all.filter((o) => !rows.has(o.path)).map((o) => o.path);
    expect(missing).toEqual([]);
  });

  it('gives each default as the schema has it', () => {
    const wrong = all
      .filter((o) => o.default !== undefined && rows.has(o.path))
      .filter(
        (o) =>
          !rows
            .get(o.path)!
            .split('|')[0]!
            .includes(`\`${rendered(o.default)}\``),
      )
      .map((o) => `${o.path}: expected \`${rendered(o.default)}\``);
    expect(wrong).toEqual([]);
  });

  it('documents no option the schema does not have', () => {
    const known = new Set(all.map((o) => o.path));
    const options = [...rows.keys()].filter((k) => /^[a-z]/.test(k) && !/^[A-Z_]+$/.test(k));
    expect(options.filter((k) => !known.has(k))).toEqual([]);
  });

  it('documents every environment variable the loader reads', () => {
    const loader = readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8');
    const vars = new Set([...loader.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!));
    expect(vars.size).toBeGreaterThan(0);
    for (const v of vars) expect(docs, v).toContain(`| \`${v}\` |`);
  });
});
