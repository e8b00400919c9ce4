import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericType } from '../../src/backend/types.js';
import type { TestApp } from '../helpers/app.js';
import { makeTestApp } from '../helpers/app.js';
import { testBackends, uniqueName } from '../helpers/backends.js';
import { TABLE_SUFFIX } from '../helpers/sql.js';

/**
 * Output formats of the statement routes (issue #20): CSV, the text table, pretty JSON, 406, errors as one
 * line of text, Server-Timing and µs durationMs; the same exact values on every backend.
 */
const backends = await testBackends();

const BYTES = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x2c, 0x22]).toString('base64'); // AAEC/v8sIg==
const LONG = 'x'.repeat(60);

describe.each(backends)('output formats: $driver', (tb) => {
  if (tb.skipReason) {
    it.skip(`skipped: ${tb.skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let name: string;
  const ddl = (type: GenericType) => t.app.backends.get('db').dialect.ddlType(type);
  const post = (sql: string, headers: Record<string, string>, url = '/v1/execute', extra = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      payload: { sql, ...extra },
      headers: { 'content-type': 'application/json', ...headers },
    });
  const select = () => `SELECT id, big, dcm, ts, bl, txt FROM ${name} ORDER BY id`;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { db: tb.backendDoc() } });
    name = uniqueName('fmt');
    const cols = [
      'id INTEGER NOT NULL',
      `big ${ddl('BIGINT')}`,
      `dcm ${ddl('DECIMAL')}`,
      `ts ${ddl('TIMESTAMP')}`,
      `bl ${ddl('BLOB')}`,
      `txt ${ddl('TEXT')}`,
    ];
    const created = await t.exec(`CREATE TABLE ${name} (${cols.join(', ')})${TABLE_SUFFIX[tb.driver]}`);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const rows = [
      {
        id: 1,
        big: { $type: 'BIGINT', value: '9223372036854775807' },
        dcm: { $type: 'DECIMAL', value: '12345678901234567890.0123456789' },
        ts: { $type: 'TIMESTAMP', value: '2024-02-29T23:59:59.123456+00:00' },
        bl: { $type: 'BLOB', base64: BYTES },
        txt: '',
      },
      { id: 2, big: null, dcm: null, ts: null, bl: null, txt: null },
      {
        id: 3,
        big: { $type: 'BIGINT', value: '-9223372036854775808' },
        dcm: { $type: 'DECIMAL', value: '-0.5000000000' },
        ts: { $type: 'TIMESTAMP', value: '1970-01-01T00:00:00.000001+00:00' },
        bl: { $type: 'BLOB', base64: '' },
        txt: 'a,"b"\nc',
      },
      { id: 4, big: null, dcm: null, ts: null, bl: null, txt: LONG },
    ];
    for (const r of rows) {
      const res = await t.exec(
        `INSERT INTO ${name} (id, big, dcm, ts, bl, txt) VALUES (:id, :big, :dcm, :ts, :bl, :txt)`,
        r,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });
  afterAll(async () => {
    if (name) await t.exec(`DROP TABLE ${name}`);
    await t?.close();
  });

  it('text/csv: RFC 4180 with a header row, exact values, NULL unquoted-empty, "" for an empty string', async () => {
    const res = await post(select(), { accept: 'text/csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(res.body).toBe(
      'id,big,dcm,ts,bl,txt\r\n' +
        `1,9223372036854775807,12345678901234567890.0123456789,2024-02-29T23:59:59.123456+00:00,${BYTES},""\r\n` +
        '2,,,,,\r\n' +
        '3,-9223372036854775808,-0.5000000000,1970-01-01T00:00:00.000001+00:00,"","a,""b""\nc"\r\n' +
        `4,,,,,${LONG}\r\n`,
    );
  });

  // 160 rows: past the size where backends hand rows over as JSON text (backend/rows-json.ts).
  const many = () =>
    'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) ' +
    `SELECT n.i, t.id, t.big, t.dcm, t.ts, t.bl, t.txt FROM n CROSS JOIN ${name} t ORDER BY n.i, t.id`;

  it('text/csv: the same values as JSON, cell for cell (CSV parsed back), small and large results', async () => {
    for (const sql of [select(), many()]) {
      const json = (await t.exec(sql)).body;
      const csv = (await post(sql, { accept: 'text/csv' })).body;
      const records = parseCsv(csv);
      expect(records[0]).toEqual(json.columns.map((c: { name: string }) => c.name));
      const expected = json.rows.map((r: Record<string, unknown>) =>
        json.columns.map((c: { name: string }) => (r[c.name] === null ? null : String(r[c.name]))),
      );
      expect(records.slice(1)).toEqual(expected);
      expect(records.length - 1).toBe(json.rowCount);
    }
  });

  it('text/plain: a large result has every row, NULL and empty kept apart', async () => {
    const json = (await t.exec(many())).body;
    const table = (await post(many(), { accept: 'text/plain' })).body as string;
    const lines = table.split('\n');
    expect(lines[2 + json.rowCount]).toBe(`(${json.rowCount} rows)`);
    const txt = lines.slice(2, 2 + json.rowCount).map((l) => l.split('|').map((c) => c.trim())[6]);
    expect(txt).toEqual(
      json.rows.map((r: { txt: string | null }) =>
        r.txt === null ? 'NULL' : r.txt.length > 48 ? `${r.txt.slice(0, 47)}…` : r.txt.replace('\n', '\\n'),
      ),
    );
  });

  it('text/csv: a write answers one summary record', async () => {
    const res = await post(`UPDATE ${name} SET txt = txt WHERE id = 1`, { accept: 'text/csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('command,affectedRows,lastInsertId\r\nUPDATE,1,\r\n');
  });

  it('text/plain: an aligned table with NULL, row count, time and a visible cut marker', async () => {
    const res = await post(select(), { accept: 'text/plain' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const lines = res.body.split('\n');
    expect(lines[0]).toMatch(/^ +id \| +big +\| +dcm +\| +ts +\| +bl +\| +txt$/);
    expect(lines[1]).toMatch(/^-+\+-+\+-+\+-+\+-+\+-+$/);
    // Every row line has its separators at the header's positions: the table is aligned.
    const bars = (l = '') => [...l].flatMap((ch, i) => (ch === '|' ? [i] : []));
    for (const l of lines.slice(2, 6)) expect(bars(l)).toEqual(bars(lines[0]));
    const cells = (l = '') => l.split('|').map((c) => c.trim());
    expect(cells(lines[2])).toEqual([
      '1',
      '9223372036854775807',
      '12345678901234567890.0123456789',
      '2024-02-29T23:59:59.123456+00:00',
      BYTES,
      '',
    ]);
    expect(cells(lines[3])).toEqual(['2', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL']);
    expect(cells(lines[4])[5]).toBe('a,"b"\\nc');
    expect(cells(lines[5])[5]).toBe(`${'x'.repeat(47)}…`);
    expect(lines[6]).toBe('(4 rows)');
    expect(lines[7]).toBe(
      '1 value cut at 48 characters (marked …): ask for ?maxWidth=N, Accept: text/csv or JSON for full values',
    );
    expect(lines[8]).toMatch(/^Time: \d+\.\d{3} ms$/);
    const wide = await post(select(), { accept: 'text/plain' }, '/v1/execute?maxWidth=100');
    expect(wide.body).toContain(`| ${LONG}\n`);
    expect(wide.body).not.toContain('cut at');
  });

  it('?pretty indents JSON; values and types unchanged', async () => {
    const plain = await post(select(), {});
    const pretty = await post(select(), {}, '/v1/execute?pretty');
    expect(pretty.statusCode).toBe(200);
    expect(pretty.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(pretty.body).toMatch(/^\{\n {2}"columns": \[\n/);
    const a = plain.json();
    const b = pretty.json();
    delete a.durationMs;
    delete b.durationMs;
    expect(b).toEqual(a);
    expect(b.rows[0]).toMatchObject({ big: '9223372036854775807', bl: BYTES, txt: '' });
    expect(b.rows[1].txt).toBeNull();
  });

  it('durationMs is rounded to the microsecond and Server-Timing splits queue, db and serialization', async () => {
    for (const accept of ['application/json', 'text/csv', 'text/plain']) {
      const res = await post(select(), { accept });
      expect(res.statusCode).toBe(200);
      const timing = String(res.headers['server-timing']);
      const parts = Object.fromEntries(
        timing.split(', ').map((p) => {
          const [metric, , dur] = p.split(';');
          return [metric, Number(dur?.replace('dur=', ''))];
        }),
      );
      expect(Object.keys(parts)).toEqual(['queue', 'db', 'ser']);
      for (const v of Object.values(parts)) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
      }
      if (accept === 'application/json') {
        const d = res.json().durationMs;
        expect(Math.round(d * 1000) / 1000).toBe(d);
        expect(parts.db).toBe(d);
      }
    }
  });

  it('unknown Accept is 406 NOT_ACCEPTABLE (JSON) and the statement does not run', async () => {
    const res = await post(`UPDATE ${name} SET txt = 'changed' WHERE id = 4`, { accept: 'image/png' });
    expect(res.statusCode).toBe(406);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().error.code).toBe('NOT_ACCEPTABLE');
    const bad = await post('SELECT 1', {}, '/v1/execute?format=xml');
    expect(bad.statusCode).toBe(406);
    expect(bad.json().error.code).toBe('NOT_ACCEPTABLE');
    const after = await t.exec(`SELECT txt FROM ${name} WHERE id = 4`);
    expect(after.body.rows[0].txt).toBe(LONG);
  });

  it('Accept q-values pick the format; text/csv over a low-q NDJSON does not stream', async () => {
    const res = await post('SELECT 1 AS x', { accept: 'application/x-ndjson;q=0.1, text/csv' });
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.body).toBe('x\r\n1\r\n');
    const star = await post('SELECT 1 AS x', { accept: '*/*' });
    expect(star.headers['content-type']).toMatch(/^application\/json/);
  });

  it('application/x-ndjson still streams: header, rows, trailer', async () => {
    const res = await post(select(), { accept: 'application/x-ndjson' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines[0].columns.map((c: { name: string }) => c.name)).toEqual([
      'id',
      'big',
      'dcm',
      'ts',
      'bl',
      'txt',
    ]);
    expect(lines[1]).toMatchObject({ big: '9223372036854775807', bl: BYTES, txt: '' });
    expect(lines.slice(1, 5)).toEqual((await t.exec(select())).body.rows);
    expect(lines[5]).toMatchObject({ done: true, rowCount: 4 });
  });

  it('errors in the text formats are one readable line with the code', async () => {
    for (const accept of ['text/csv', 'text/plain']) {
      const res = await post(`SELECT nope FROM ${name}`, { accept });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.body).toMatch(/^ERROR [A-Z_]+ \(400 [A-Za-z]+\): .+ \[.*requestId [^\]]+\]\n$/);
      expect(res.body.trimEnd().split('\n')).toHaveLength(1);
      expect(
        res.body.startsWith(`ERROR ${(await t.exec(`SELECT nope FROM ${name}`)).body.error.code} `),
      ).toBe(true);
    }
    const json = await post(`SELECT nope FROM ${name}`, {});
    expect(json.headers['content-type']).toMatch(/^application\/json/);
  });

  it('session execute negotiates the same formats', async () => {
    const open = await t.post('/v1/sessions', {});
    expect(open.status).toBe(201);
    const url = `/v1/sessions/${open.body.id}/execute`;
    try {
      const csv = await post(
        `SELECT id, txt FROM ${name} WHERE id IN (1, 2) ORDER BY id`,
        { accept: 'text/csv' },
        url,
      );
      expect(csv.statusCode, csv.body).toBe(200);
      expect(csv.body).toBe('id,txt\r\n1,""\r\n2,\r\n');
      expect(String(csv.headers['server-timing'])).toMatch(/^queue;.*db;.*ser;/);
      const table = await post('SELECT 1 AS x', { accept: 'text/plain' }, url);
      expect(table.body).toMatch(/^ x\n---\n 1\n\(1 row\)\nTime: \d+\.\d{3} ms\n$/);
      const refused = await post('SELECT 1', { accept: 'application/xml' }, url);
      expect(refused.statusCode).toBe(406);
      const err = await post('SELECT nope', { accept: 'text/plain' }, url);
      expect(err.body).toMatch(/^ERROR [A-Z_]+ /);
    } finally {
      await t.post(`/v1/sessions/${open.body.id}/rollback`, {});
    }
  });
});

/** A strict RFC 4180 reader for the test: empty unquoted field = null, quoted = the text. */
function parseCsv(text: string): Array<Array<string | null>> {
  const records: Array<Array<string | null>> = [];
  let i = 0;
  while (i < text.length) {
    const record: Array<string | null> = [];
    for (;;) {
      let value: string | null;
      if (text[i] === '"') {
        let s = '';
        i++;
        for (;;) {
          if (text[i] === '"' && text[i + 1] === '"') {
            s += '"';
            i += 2;
          } else if (text[i] === '"') {
            i++;
            break;
          } else s += text[i++];
        }
        value = s;
      } else {
        let end = i;
        while (text[end] !== ',' && text[end] !== '\r') end++;
        value = end === i ? null : text.slice(i, end);
        i = end;
      }
      record.push(value);
      if (text[i] === ',') i++;
      else {
        i += 2; // CRLF
        break;
      }
    }
    records.push(record);
  }
  return records;
}
