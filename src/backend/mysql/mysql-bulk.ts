/**
 * Bulk INSERT: `INSERT INTO t (a, b) VALUES (?, ?)` run for many parameter sets is rewritten to one
 * multi-row `VALUES (?, ?), (?, ?), ...` per chunk, so a chunk is one round trip instead of one per set.
 *
 * Only a plain INSERT qualifies: with IGNORE, ON DUPLICATE KEY UPDATE or REPLACE a row may affect 0 or 2
 * rows, so per-set `affectedRows` could not be told apart; anything after the tuple (a second tuple,
 * a row alias, RETURNING) also keeps the statement as it is. Everything else runs set by set.
 */

/** The statement split around its single VALUES tuple. */
export interface BulkInsertPlan {
  /** Everything before the tuple, `INSERT INTO t (a, b) VALUES `. */
  head: string;
  /** The tuple with its parentheses, `(?, ?)`. */
  tuple: string;
  /** Placeholders in the tuple (all of the statement's). */
  paramsPerRow: number;
}

/** MySQL's limit on placeholders in one prepared statement. */
export const MAX_PLACEHOLDERS = 65_535;
/** Rows per chunk at most; bigger chunks save little and make very long statements. */
export const MAX_ROWS_PER_CHUNK = 1_000;

interface Token {
  kind: 'word' | 'punct' | 'placeholder' | 'other';
  text: string;
  start: number;
  end: number;
}

/** Splits MySQL SQL into the tokens the planner needs, skipping strings, quoted identifiers and comments. */
function tokenize(sql: string): Token[] | null {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && next === '-' && (i + 2 >= n || /\s/.test(sql[i + 2] as string))) || c === '#') {
      // MySQL needs a space after `--` for a comment; `5--1` is arithmetic.
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close < 0) return null;
      // `/*! ... */` is executable on MySQL: not something to rewrite around.
      if (sql[i + 2] === '!' || sql[i + 2] === 'M') return null;
      i = close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const start = i;
      i++;
      while (i < n) {
        const d = sql[i];
        if (d === '\\' && c !== '`') {
          i += 2;
          continue;
        }
        if (d === c) {
          if (sql[i + 1] === c) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      if (i >= n) return null;
      i++;
      out.push({ kind: 'other', text: sql.slice(start, i), start, end: i });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_$]/.test(sql[i] as string)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i).toUpperCase(), start, end: i });
    } else if (c === '?') {
      out.push({ kind: 'placeholder', text: c, start: i, end: i + 1 });
      i++;
    } else if (c === '(' || c === ')' || c === ',' || c === ';') {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    } else {
      out.push({ kind: 'other', text: c, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** The plan for a rewritable single-row INSERT, or null when the statement must run set by set. */
export function planBulkInsert(sql: string): BulkInsertPlan | null {
  const tokens = tokenize(sql);
  if (tokens?.[0]?.text !== 'INSERT') return null;
  let depth = 0;
  let valuesAt = -1;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') depth--;
    else if (depth === 0 && t.kind === 'word') {
      if (t.text === 'IGNORE' || t.text === 'SELECT' || t.text === 'SET' || t.text === 'WITH') return null;
      if (t.text === 'VALUES' || t.text === 'VALUE') {
        valuesAt = i;
        break;
      }
    } else if (t.kind === 'placeholder') {
      return null;
    }
  }
  if (valuesAt < 0 || tokens[valuesAt + 1]?.text !== '(') return null;
  const open = tokens[valuesAt + 1] as Token;
  let close = -1;
  let params = 0;
  depth = 0;
  for (let i = valuesAt + 1; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (t.kind === 'placeholder') params++;
    else if (t.kind === 'word' && t.text === 'SELECT') return null;
  }
  if (close < 0) return null;
  // Nothing but `;` may follow the tuple.
  for (let i = close + 1; i < tokens.length; i++) {
    if ((tokens[i] as Token).text !== ';') return null;
  }
  const closeTok = tokens[close] as Token;
  return {
    head: sql.slice(0, open.start),
    tuple: sql.slice(open.start, closeTok.end),
    paramsPerRow: params,
  };
}

/** The SQL of a chunk of `rows` rows. */
export function chunkSql(plan: BulkInsertPlan, rows: number): string {
  return plan.head + Array.from({ length: rows }, () => plan.tuple).join(', ');
}

/** A rough size in bytes of one parameter set on the wire, to keep a chunk under max_allowed_packet. */
export function paramSetBytes(values: readonly unknown[]): number {
  let bytes = 0;
  for (const v of values) {
    if (typeof v === 'string') bytes += Buffer.byteLength(v) + 9;
    else if (Buffer.isBuffer(v)) bytes += v.length + 9;
    else bytes += 10;
  }
  return bytes + 8;
}
