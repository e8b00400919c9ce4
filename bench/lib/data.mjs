/**
 * Benchmark tables: a wide mixed-type table (scenario 2) and a bulk-insert target (scenario 4), with the
 * same data on every backend. Created once, reused while their row count is right.
 */
export const WIDE = 'sqlgate_bench_wide';
export const BULK = 'sqlgate_bench_bulk';
export const WIDE_ROWS = 10_000;

const WIDE_DDL = {
  postgres: `create table ${WIDE} (id int8 primary key, qty int4 not null, price numeric(14,4), name text,
    created timestamptz, payload bytea, doc jsonb, active bool, day date, ratio float8, ref uuid)`,
  mysql: `create table ${WIDE} (id bigint primary key, qty int not null, price decimal(14,4), name text,
    created datetime(6), payload blob, doc json, active boolean, day date, ratio double, ref char(36))`,
  sqlite: `create table ${WIDE} (id integer primary key, qty int4 not null, price decimal_text, name text,
    created timestamptz, payload blob, doc json, active boolean, day date, ratio double, ref uuid)`,
};

const BULK_DDL = {
  postgres: `create table ${BULK} (id int8 primary key, name text not null, amount numeric(12,2), flag bool,
    created timestamptz)`,
  mysql: `create table ${BULK} (id bigint primary key, name varchar(64) not null, amount decimal(12,2),
    flag boolean, created datetime(6))`,
  sqlite: `create table ${BULK} (id integer primary key, name text not null, amount decimal_text, flag boolean,
    created timestamptz)`,
};

/** Native placeholder for parameter i (1-based). */
export const placeholder = (driver, i) => (driver === 'postgres' ? `$${i}` : '?');

/** `select ?` with one integer param, in each dialect (PG needs the cast to type the param). */
export const POINT_SQL = { postgres: 'select $1::int as v', mysql: 'select ? as v', sqlite: 'select ? as v' };

function hex(n) {
  return (n * 2654435761).toString(16).padStart(8, '0').slice(-8);
}

/** One row of the wide table as driver params (dates as strings, so no driver Date conversion). */
function wideRow(driver, g) {
  const ts = new Date(Date.UTC(2024, 0, 1) + g * 1000).toISOString().replace('T', ' ').replace('Z', '');
  const uuid = `${hex(g)}-${hex(g + 1).slice(0, 4)}-4${hex(g + 2).slice(0, 3)}-8${hex(g + 3).slice(0, 3)}-${hex(g + 4)}${hex(g + 5).slice(0, 4)}`;
  const day = new Date(Date.UTC(2024, 0, 1) + (g % 365) * 86_400_000).toISOString().slice(0, 10);
  const bytes = Buffer.from(hex(g).repeat(4), 'hex');
  const doc = JSON.stringify({ k: g, tags: ['a', 'b'], nested: { ok: g % 2 === 0 } });
  return [
    g,
    g % 1000,
    (g * 1.2345).toFixed(4),
    `name-${g}-${'x'.repeat(20)}`,
    driver === 'postgres' ? `${ts}+00` : `${ts}123`.slice(0, 26),
    bytes,
    doc,
    driver === 'sqlite' ? g % 2 : g % 2 === 0,
    day,
    g / 7,
    uuid,
  ];
}

async function count(raw, table) {
  try {
    const rows = await raw.query(`select count(*) as n from ${table}`);
    return Number(rows[0].n);
  } catch {
    return -1;
  }
}

/** Creates and fills the wide table unless it already holds WIDE_ROWS rows. */
export async function ensureWide(raw, driver) {
  if ((await count(raw, WIDE)) === WIDE_ROWS) return;
  await raw.exec(`drop table if exists ${WIDE}`);
  await raw.exec(WIDE_DDL[driver]);
  const chunk = 500;
  for (let start = 1; start <= WIDE_ROWS; start += chunk) {
    const rows = [];
    for (let g = start; g < start + chunk && g <= WIDE_ROWS; g++) rows.push(wideRow(driver, g));
    await raw.query(multiRowInsert(driver, WIDE, 11, rows.length), rows.flat());
  }
}

/** Creates an empty bulk-insert table (dropped and re-created: every round starts equal). */
export async function resetBulk(raw, driver) {
  await raw.exec(`drop table if exists ${BULK}`);
  await raw.exec(BULK_DDL[driver]);
}

/** `insert into t values ($1,$2,..),(...)` for `rows` rows of `cols` columns. */
export function multiRowInsert(driver, table, cols, rows) {
  let i = 0;
  const groups = [];
  for (let r = 0; r < rows; r++) {
    const ph = [];
    for (let c = 0; c < cols; c++) ph.push(placeholder(driver, ++i));
    groups.push(`(${ph.join(',')})`);
  }
  return `insert into ${table} values ${groups.join(',')}`;
}

/** Row n of the bulk table as raw-driver params. */
export function bulkRow(driver, n) {
  const created = `2024-01-01 00:00:${String(n % 60).padStart(2, '0')}.123456`;
  return [
    n,
    `row-${n}`,
    ((n % 100000) / 100).toFixed(2),
    driver === 'sqlite' ? n % 2 : n % 2 === 0,
    driver === 'postgres' ? `${created}+00` : created,
  ];
}

/** Row n of the bulk table as gateway JSON params (tagged where JSON cannot say the type exactly). */
export function bulkRowJson(driver, n) {
  const [id, name, amount, flag, created] = bulkRow(driver, n);
  return [
    id,
    name,
    { $type: 'DECIMAL', value: amount },
    typeof flag === 'number' ? flag === 1 : flag,
    { $type: driver === 'postgres' ? 'TIMESTAMP' : 'DATETIME', value: created.replace(' ', 'T') },
  ];
}

export const BULK_INSERT_ONE = (driver) =>
  `insert into ${BULK} values (${[1, 2, 3, 4, 5].map((i) => placeholder(driver, i)).join(',')})`;
