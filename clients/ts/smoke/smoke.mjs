// The runtime smoke: CRUD, a transaction (commit and rollback), a BLOB, a bigint beyond 2^53 and a stream,
// through the BUILT client (dist/), on each backend given. Portable ESM: no Node, Deno or Bun API here, so
// the same file runs in workerd, Deno, Bun and Node. Throws on the first mismatch; returns what it checked.
import { createClient, SqlgateError } from '../dist/index.js';

const BLOB = { sqlite: 'BLOB', postgres: 'BYTEA', mysql: 'LONGBLOB' };

function eq(got, want, what) {
  const g = typeof got === 'bigint' ? `${got}n` : JSON.stringify(got);
  const w = typeof want === 'bigint' ? `${want}n` : JSON.stringify(want);
  if (g !== w || typeof got !== typeof want) throw new Error(`${what}: got ${g} (${typeof got}), want ${w}`);
}

const bytesOf = (v) => (v instanceof Uint8Array ? Array.from(v) : `not a Uint8Array: ${String(v)}`);

/**
 * Runs the smoke on every backend; resolves with the checks that passed per backend. With `closedUrl` (a
 * port nothing listens on) it also reports how this runtime's refused connection is coded.
 */
export async function smoke(url, backends, runtime, closedUrl) {
  const report = { runtime, backends: {} };
  if (closedUrl) {
    // Reported, not judged here: workerd words a refused connection like a lost one, so the client cannot
    // know the request never left and must not retry it (the test expects exactly that there).
    const e = await createClient({ url: closedUrl, retry: false })
      .execute('SELECT 1')
      .catch((x) => x);
    report.refused = `${e?.code}, ${e?.retryable ? 'retryable' : 'not retryable'}`;
  }
  for (const backend of backends) {
    const db = createClient({ url, backend, int64: 'bigint' });
    const t = `smoke_${runtime}_${backend}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const big = 9007199254740993n;
    const blob = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    let checks = 0;
    const check = (got, want, what) => {
      eq(got, want, `${runtime}/${backend}: ${what}`);
      checks++;
    };
    await db.execute(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(100), data ${BLOB[backend]})`);
    try {
      const ins = await db.execute(`INSERT INTO ${t} (id, name, data) VALUES (:id, :name, :data)`, {
        id: big,
        name: 'first',
        data: blob,
      });
      check(ins.affectedRows, 1, 'insert');
      const row = (await db.execute(`SELECT id, name, data FROM ${t} WHERE id = :id`, { id: big })).rows[0];
      check(row?.id, big, 'bigint read back');
      check(row?.name, 'first', 'text read back');
      check(bytesOf(row?.data), Array.from(blob), 'blob read back');
      check((await db.execute(`UPDATE ${t} SET name = :n WHERE id = :id`, { n: 'renamed', id: big })).affectedRows, 1, 'update');
      await db.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${t} (id, name) VALUES (:id, :n)`, { id: 2n, n: 'committed' });
      });
      const boom = await db
        .transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${t} (id, name) VALUES (:id, :n)`, { id: 3n, n: 'rolled back' });
          throw new Error('undo');
        })
        .catch((e) => e.message);
      check(boom, 'undo', 'transaction rethrows');
      const dup = await db.execute(`INSERT INTO ${t} (id) VALUES (:id)`, { id: 2n }).catch((e) => e);
      check(dup instanceof SqlgateError && dup.code, 'UNIQUE_VIOLATION', 'coded error');
      const s = await db.stream(`SELECT id, name FROM ${t} ORDER BY id`);
      check(s.columns.map((c) => c.name), ['id', 'name'], 'stream columns');
      const streamed = [];
      for await (const r of s) streamed.push([r.id, r.name]);
      check(streamed.length, 2, 'stream rows');
      check(streamed[0]?.[0], 2n, 'stream row 1 id');
      check(streamed[1]?.[0], big, 'stream row 2 id');
      check(streamed[1]?.[1], 'renamed', 'stream row 2 name');
      check(s.summary?.rowCount, 2, 'stream trailer');
      check((await db.execute(`DELETE FROM ${t} WHERE id = :id`, { id: 2n })).affectedRows, 1, 'delete');
      check((await db.execute(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0]?.n, 1n, 'count after delete');
    } finally {
      await db.execute(`DROP TABLE ${t}`);
    }
    report.backends[backend] = checks;
  }
  return report;
}
