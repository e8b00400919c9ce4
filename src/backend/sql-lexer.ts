import { SqlgateError } from '../errors.js';

/**
 * A small SQL scanner shared by every dialect. It does not parse SQL; it only finds the places where a
 * placeholder or a statement separator can stand, skipping everything that is text to the database:
 * string literals, quoted identifiers, comments and PostgreSQL dollar-quoted bodies.
 */

export interface LexerOptions {
  /** `\` escapes inside '...' and "..." strings (MySQL's default). */
  backslashEscapes: boolean;
  /** `"..."` is a string literal (MySQL) rather than a quoted identifier; both are skipped either way. */
  doubleQuoteIsString: boolean;
  /** `$tag$ ... $tag$` bodies (PostgreSQL). */
  dollarQuotes: boolean;
  /** `# comment` to end of line (MySQL). */
  hashComments: boolean;
  /** `/* ... *\/` may nest (PostgreSQL). */
  nestedBlockComments: boolean;
  /** `[identifier]` (SQLite, for SQL Server compatibility). */
  bracketIdentifiers: boolean;
  /** `$1` numbered placeholders (PostgreSQL); otherwise `?` placeholders. */
  numberedPlaceholders: boolean;
}

export type Placeholder =
  | { kind: 'named'; name: string; start: number; end: number }
  | { kind: 'positional'; index: number | null; start: number; end: number };

export interface ScanResult {
  placeholders: Placeholder[];
  /** Number of non-empty statements (text between top-level `;` that is not only space and comments). */
  statementCount: number;
}

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;

export function scanSql(sql: string, o: LexerOptions): ScanResult {
  const placeholders: Placeholder[] = [];
  const n = sql.length;
  let statementCount = 0;
  /** Whether the current statement has seen anything but space and comments. */
  let content = false;
  let i = 0;

  const skipQuoted = (quote: number, backslash: boolean): void => {
    // i is at the opening quote; a doubled quote is an escaped quote.
    i++;
    while (i < n) {
      const c = sql.charCodeAt(i);
      if (backslash && c === 92) {
        i += 2;
        continue;
      }
      if (c === quote) {
        if (sql.charCodeAt(i + 1) === quote) {
          i += 2;
          continue;
        }
        i++;
        return;
      }
      i++;
    }
    // Unterminated: the database reports the syntax error with its own position.
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = sql.charCodeAt(i + 1);

    if (isSpace(c)) {
      i++;
      continue;
    }
    // -- comment (MySQL requires a space after --, but treating it as a comment is the safe direction)
    if (c === 45 && next === 45) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (c === 35 && o.hashComments) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (c === 47 && next === 42) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const a = sql.charCodeAt(i);
        const b = sql.charCodeAt(i + 1);
        if (a === 42 && b === 47) {
          depth--;
          i += 2;
        } else if (o.nestedBlockComments && a === 47 && b === 42) {
          depth++;
          i += 2;
        } else {
          i++;
        }
      }
      continue;
    }
    if (c === 59) {
      // ';'
      if (content) statementCount++;
      content = false;
      i++;
      continue;
    }
    content = true;

    if (c === 39) {
      // '...'; PostgreSQL E'...' strings allow backslash escapes.
      const prev = i > 0 ? sql.charCodeAt(i - 1) : 0;
      const eString =
        !o.backslashEscapes && (prev === 69 || prev === 101) && !isIdentPart(sql.charCodeAt(i - 2) || 0);
      skipQuoted(39, o.backslashEscapes || eString);
      continue;
    }
    if (c === 34) {
      skipQuoted(34, o.doubleQuoteIsString && o.backslashEscapes);
      continue;
    }
    if (c === 96) {
      skipQuoted(96, false);
      continue;
    }
    if (c === 91 && o.bracketIdentifiers) {
      const close = sql.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      continue;
    }
    if (c === 36 && o.dollarQuotes) {
      // $tag$ ... $tag$, or $n placeholder
      if (isDigit(next)) {
        if (o.numberedPlaceholders) {
          let j = i + 1;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
          placeholders.push({ kind: 'positional', index: Number(sql.slice(i + 1, j)), start: i, end: j });
          i = j;
          continue;
        }
      } else {
        let j = i + 1;
        while (j < n && isIdentPart(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
        if (sql.charCodeAt(j) === 36) {
          const tag = sql.slice(i, j + 1);
          const close = sql.indexOf(tag, j + 1);
          i = close < 0 ? n : close + tag.length;
          continue;
        }
      }
      i++;
      continue;
    }
    if (c === 36 && o.numberedPlaceholders && isDigit(next)) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      placeholders.push({ kind: 'positional', index: Number(sql.slice(i + 1, j)), start: i, end: j });
      i = j;
      continue;
    }
    if (c === 58) {
      // ':' — '::' is a cast, ':=' an assignment, ':name' a named parameter.
      if (next === 58) {
        i += 2;
        while (i < n && sql.charCodeAt(i) === 58) i++;
        continue;
      }
      if (isIdentStart(next)) {
        let j = i + 1;
        while (j < n && isIdentPart(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
        placeholders.push({ kind: 'named', name: sql.slice(i + 1, j), start: i, end: j });
        i = j;
        continue;
      }
      i++;
      continue;
    }
    if (c === 63 && !o.numberedPlaceholders) {
      placeholders.push({ kind: 'positional', index: null, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (isIdentStart(c)) {
      // Skip whole words so that `E'` detection and `$` inside identifiers stay simple.
      let j = i + 1;
      while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
      // Let a following quote be seen by the string branch (E'...', N'...', x'..').
      i = j;
      continue;
    }
    i++;
  }
  if (content) statementCount++;
  return { placeholders, statementCount };
}

export type Params = unknown[] | Record<string, unknown> | undefined;

export interface CompiledSql<T> {
  sql: string;
  params: T[];
}

/**
 * Checks that `sql` is one statement and that the params fit its placeholders, and rewrites `:name`
 * placeholders to the dialect's native ones when params is an object.
 * @param placeholder the dialect's native placeholder for the i-th (0-based) parameter
 */
export function compileStatement<T>(
  sql: string,
  params: T[] | Record<string, T> | undefined,
  o: LexerOptions,
  placeholder: (index: number) => string,
): CompiledSql<T> {
  const scan = scanSql(sql, o);
  if (scan.statementCount > 1) {
    throw new SqlgateError(
      'BAD_REQUEST',
      `sql holds ${scan.statementCount} statements; send one statement per entry (use /v1/batch for several)`,
    );
  }
  if (scan.statementCount === 0) {
    throw new SqlgateError('BAD_REQUEST', 'sql holds no statement');
  }
  if (params === undefined || Array.isArray(params)) {
    const list = params ?? [];
    const positional = scan.placeholders.filter((p) => p.kind === 'positional');
    const expected = o.numberedPlaceholders
      ? positional.reduce((max, p) => Math.max(max, p.index ?? 0), 0)
      : positional.length;
    if (expected !== list.length) {
      const named = scan.placeholders.some((p) => p.kind === 'named');
      throw new SqlgateError(
        'PARAM_INVALID',
        `the statement has ${expected} positional placeholder(s) but ${list.length} param(s) were given` +
          (named && expected === 0 ? '; pass params as an object to use :name placeholders' : ''),
      );
    }
    return { sql, params: list };
  }

  // Named params: rewrite every :name, in order of appearance.
  if (scan.placeholders.some((p) => p.kind === 'positional')) {
    throw new SqlgateError('PARAM_INVALID', 'params is an object but the SQL uses positional placeholders');
  }
  const out: T[] = [];
  const indexOf = new Map<string, number>();
  let text = '';
  let last = 0;
  for (const p of scan.placeholders) {
    if (p.kind !== 'named') continue;
    if (!Object.hasOwn(params, p.name)) {
      throw new SqlgateError('PARAM_INVALID', `no value given for placeholder :${p.name}`);
    }
    let index = o.numberedPlaceholders ? indexOf.get(p.name) : undefined;
    if (index === undefined) {
      index = out.length;
      out.push(params[p.name] as T);
      indexOf.set(p.name, index);
    }
    text += sql.slice(last, p.start) + placeholder(index);
    last = p.end;
  }
  const used = new Set(scan.placeholders.map((p) => (p.kind === 'named' ? p.name : '')));
  const unused = Object.keys(params).filter((k) => !used.has(k));
  if (unused.length > 0) {
    throw new SqlgateError(
      'PARAM_INVALID',
      `params not used by the SQL: ${unused.map((k) => `:${k}`).join(', ')}`,
    );
  }
  return { sql: text + sql.slice(last), params: out };
}

/**
 * The first keyword of a statement in upper case (`SELECT`, `INSERT`, `WITH`, ...), skipping space,
 * comments and opening parentheses; used as `command` where the driver reports none.
 */
export function leadingKeyword(sql: string): string {
  const m = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  return m?.[1] ? m[1].toUpperCase() : '';
}
