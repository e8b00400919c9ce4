import { leadingKeyword } from '../sql-lexer.js';

/**
 * The command a SQLite statement really runs, for `command` / `affectedRows` / `lastInsertId`. For a
 * statement led by `WITH` that is the first keyword at parenthesis depth 0 after the common table
 * expressions (`WITH s AS (...) UPDATE ...` is an UPDATE), as PostgreSQL's command tag reports it; for any
 * other statement it is the leading keyword. Quotes, identifiers in quotes/brackets/backticks and comments
 * are skipped so that a keyword inside them never counts.
 * @see https://www.sqlite.org/lang_with.html
 */
export function sqliteCommand(sql: string): string {
  const lead = leadingKeyword(sql);
  if (lead !== 'WITH') return lead;
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? n : end + 1;
      // A doubled quote inside a literal is just two adjacent literals here: harmless for keyword search.
    } else if (c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j] as string)) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (depth === 0 && MAIN_COMMANDS.has(word)) return word;
      i = j;
    } else {
      i++;
    }
  }
  return lead;
}

/** Keywords that can follow a WITH clause as the statement it qualifies. */
const MAIN_COMMANDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'VALUES']);

/** Commands whose `changes()` count is the statement's own. */
export function isDmlCommand(command: string): boolean {
  return command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'REPLACE';
}

/** Commands that set `last_insert_rowid()`. */
export function isInsertCommand(command: string): boolean {
  return command === 'INSERT' || command === 'REPLACE';
}
