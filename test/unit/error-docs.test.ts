import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorBodySchema } from '../../routes/schemas.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

/**
 * The error registry (src/errors.ts), docs/errors.md and the OpenAPI spec list the same codes with the
 * same status, class and retryability: no undocumented codes, no documented ghosts.
 */

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** Rows of the codes table: | `CODE` | 409 | IntegrityError | no | */
const rows = new Map<string, { status: number; class: string | null; retryable: boolean }>();
for (const m of docs.matchAll(
  /^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|\s*([^|]*?)\s*\|\s*(yes|no)\s*\|\s*$/gm,
)) {
  const [, code, status, cls, retryable] = m;
  expect(rows.has(code!), `${code} appears twice in the table of docs/errors.md`).toBe(false);
  rows.set(code!, {
    status: Number(status),
    class: cls === '—' || cls === '-' || cls === '' ? null : cls!,
    retryable: retryable === 'yes',
  });
}
/** Sections: #### `CODE` */
const sections = [...docs.matchAll(/^#{2,4}\s+`([A-Z][A-Z0-9_]+)`\s*$/gm)].map((m) => m[1]!);

describe('docs/errors.md', () => {
  it('has a table row for every code with its status, class and retryability', () => {
    for (const code of codes) {
      const spec = ERROR_CODES[code];
      expect(rows.get(code), `${code} is missing from the table in docs/errors.md`).toEqual({
        status: spec.status,
        class: spec.class,
        retryable: spec.retryable,
      });
    }
  });

  it('documents no code the registry does not have', () => {
    const ghosts = [...rows.keys(), ...sections].filter((c) => !(c in ERROR_CODES));
    expect(ghosts).toEqual([]);
  });

  it('has one section (when it happens, what to do) per code', () => {
    expect([...sections].sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const start = docs.indexOf(`#### \`${code}\``);
      const end = docs.indexOf('\n#', start + 1);
      const body = docs.slice(start, end === -1 ? undefined : end);
      expect(body, code).toMatch(/\*\*When:\*\*/);
      expect(body, code).toMatch(/\*\*Do:\*\*/);
    }
  });

  it('describes every field of the error body', () => {
    const fields = Object.keys(
      (ErrorBodySchema.properties.error as unknown as { properties: Record<string, unknown> }).properties,
    );
    for (const field of fields) expect(docs, `error body field ${field}`).toContain(`\`${field}\``);
  });
});

describe('OpenAPI spec', () => {
  const errorBody = spec.components.schemas.ErrorBody;

  it('ErrorBody.error.code enumerates exactly the registry', () => {
    expect(errorBody.properties.error.properties.code.enum).toEqual(codes);
  });

  it('the code description lists every code with its status, class and retryability', () => {
    const text: string = errorBody.properties.error.properties.code.description;
    for (const code of codes) {
      const s = ERROR_CODES[code];
      expect(text).toContain(
        `| \`${code}\` | ${s.status} | ${s.class ?? '—'} | ${s.retryable ? 'yes' : 'no'} |`,
      );
    }
  });

  it('has one example per code, and no others', () => {
    expect(Object.keys(spec.components.examples).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const { error } = spec.components.examples[code].value;
      expect(error).toMatchObject({
        code,
        class: ERROR_CODES[code].class,
        retryable: ERROR_CODES[code].retryable,
      });
    }
  });
});
