import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';

/**
 * The streamed rows byte for byte: the backends encode NDJSON straight from the driver's wire bytes (integers
 * as digits, decimals quoted, ASCII text escaped, the rest through the string encoders), so each row line
 * must be exactly the text JSON.stringify writes for the same row of a buffered execute — escapes, integer
 * digits, key order — including text that needs every JSON escape, non-ASCII text and a value larger than
 * one socket read.
 */
const backends = await testBackends();

const TEXTS = [
  'plain',
  'quote " and \\ backslash',
  'controls \u0001\u001f\b\f\n\r\t end',
  'unicode é ✓ 😀',
  'del \u007f and \u2028 separator',
  '',
  null,
  `${'x'.repeat(300_000)}"big"`,
];

/** The whole NDJSON body of a stream, as text. */
function streamText(url: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.end(JSON.stringify(body));
  });
}

describe.each(backends)('stream bytes: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let url: string;
  const name = uniqueName('sb');

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    url = `${await t.app.listen({ port: 0, host: '127.0.0.1' })}/v1/execute`;
    const d = t.app.backends.get('db').dialect;
    const cols = ['id INTEGER NOT NULL', `big ${d.ddlType('BIGINT')}`, `dcm ${d.ddlType('DECIMAL')}`];
    cols.push(`txt ${d.ddlType('TEXT')}`, 'neg INTEGER');
    expect((await t.exec(`CREATE TABLE ${name} (${cols.join(', ')})`)).status).toBe(200);
    const bigs = [
      '0',
      '-1',
      '9007199254740991',
      '-9007199254740991',
      '9007199254740993',
      '-9223372036854775808',
    ];
    const rows = Array.from({ length: 60 }, (_, i) => [
      i,
      { $type: 'BIGINT', value: bigs[i % bigs.length] },
      i % 5 === 0 ? null : { $type: 'DECIMAL', value: `-${i}.0${i}` },
      TEXTS[i % TEXTS.length] ?? null,
      -i * 1000,
    ]);
    const ins = await t.post('/v1/batch', {
      backend: 'db',
      sql: `INSERT INTO ${name} VALUES (${cols.map((_, i) => d.placeholder(i)).join(', ')})`,
      paramSets: rows,
    });
    expect(ins.status, JSON.stringify(ins.body)).toBe(200);
  });
  afterAll(async () => {
    await t?.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  for (const options of [
    { rowMode: 'object', int64: 'string' },
    { rowMode: 'array', int64: 'auto' },
    { rowMode: 'object', int64: 'auto' },
  ]) {
    it(`writes each row as JSON.stringify writes execute's row (${JSON.stringify(options)})`, async () => {
      const sql = `SELECT id, big, dcm, txt, neg, id * 2 AS twice FROM ${name} ORDER BY id`;
      const plain = await t.post('/v1/execute', { sql, options, backend: 'db' });
      expect(plain.status, JSON.stringify(plain.body)).toBe(200);
      const s = await streamText(url, { sql, options, backend: 'db' });
      expect(s.status).toBe(200);
      const lines = s.text.split('\n');
      expect(lines.pop()).toBe('');
      const rows = lines.slice(1, -1);
      expect(rows).toHaveLength(60);
      expect(rows).toEqual((plain.body.rows as unknown[]).map((r) => JSON.stringify(r)));
      expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ done: true, rowCount: 60 });
    });
  }
});
