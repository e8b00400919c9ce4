/** Small statistics and formatting helpers for the benchmark table. */

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The p-th percentile (0..100) of an unsorted numeric array (nearest rank). */
export function percentile(xs, p) {
  if (xs.length === 0) return Number.NaN;
  const v = Float64Array.from(xs).sort();
  const rank = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[rank];
}

/** A number with about three significant digits, thousands separated: 12,345 / 123 / 1.23 / 0.0123. */
export function fmt(x, unit = '') {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  const a = Math.abs(x);
  let s;
  if (a >= 1000) s = Math.round(x).toLocaleString('en-US');
  else if (a >= 100) s = x.toFixed(0);
  else if (a >= 10) s = x.toFixed(1);
  else if (a >= 1) s = x.toFixed(2);
  else s = x.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

export function fmtRatio(r) {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

/** Renders rows (arrays of strings) as an aligned plain-text table with a header rule. */
export function renderTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) =>
    r
      .map((c, i) => String(c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Same rows as a Markdown table (for docs/benchmarks.md). */
export function renderMarkdown(header, rows) {
  const esc = (c) => String(c ?? '').replaceAll('|', '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
