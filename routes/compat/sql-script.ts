import { type LexerOptions, scanSql } from '../../src/backend/sql-lexer.js';

/**
 * Splits a script (Hrana `sequence`, libsql's executeMultiple) into statements at top-level `;`, skipping
 * quoted text and comments the way the backend's own lexer does, and keeping a `CREATE TRIGGER ... BEGIN
 * ...; END` body whole. Each piece is checked with the lexer to hold exactly one statement.
 */
export function splitSqlScript(sql: string, lexer: LexerOptions): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  let depth = 0;
  const flush = (end: number) => {
    const piece = sql.slice(start, end);
    if (scanSql(piece, lexer).statementCount > 0) out.push(piece.trim());
    start = end + 1;
    depth = 0;
  };
  while (i < n) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      const close = sql.indexOf(c, i + 1);
      i = close < 0 ? n : close + 1;
      // a doubled quote continues the literal
      while (i < n && sql[i] === c) {
        const next = sql.indexOf(c, i + 1);
        i = next < 0 ? n : next + 1;
      }
      continue;
    }
    if (c === '[' && lexer.bracketIdentifiers) {
      const close = sql.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (/[A-Za-z_]/.test(c) && (i === 0 || !/[A-Za-z0-9_$]/.test(sql[i - 1] as string))) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 64));
      const word = (m?.[0] ?? c).toUpperCase();
      // BEGIN opens a trigger body only inside CREATE TRIGGER; END closes it (CASE ... END nests too).
      if (
        (word === 'BEGIN' || word === 'CASE') &&
        /^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(sql.slice(start, i))
      )
        depth++;
      else if (word === 'END' && depth > 0) depth--;
      i += word.length;
      continue;
    }
    if (c === ';' && depth === 0) flush(i);
    i++;
  }
  flush(n);
  return out;
}
