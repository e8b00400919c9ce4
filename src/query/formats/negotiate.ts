import { SqlgateError } from '../../errors.js';

/**
 * Content negotiation for the statement routes: which body format the client gets for a result.
 *
 * - `json`   application/json (the default; `?pretty` indents it)
 * - `csv`    text/csv, RFC 4180 (see csv.ts)
 * - `text`   text/plain, an aligned table like psql's (see text-table.ts)
 * - `ndjson` application/x-ndjson; accepted here so a streaming handler can take it over. A route that has
 *            no streaming answer for it replies with JSON.
 * The `format` query parameter (for browsers and shared links, which cannot set `Accept`) wins over `Accept`.
 */
export const RESPONSE_FORMATS = ['json', 'csv', 'text', 'ndjson'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

/** The media type sent back for each format. */
export const FORMAT_CONTENT_TYPES: Record<ResponseFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  text: 'text/plain; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** Media ranges we understand, with how specific each is (exact beats `type/*` beats `*\/*`). */
const RANGES: Record<string, { format: ResponseFormat; specificity: number }> = {
  'application/json': { format: 'json', specificity: 2 },
  'text/csv': { format: 'csv', specificity: 2 },
  'text/plain': { format: 'text', specificity: 2 },
  'application/x-ndjson': { format: 'ndjson', specificity: 2 },
  'application/*': { format: 'json', specificity: 1 },
  'text/*': { format: 'text', specificity: 1 },
  '*/*': { format: 'json', specificity: 0 },
};

interface Candidate {
  format: ResponseFormat;
  q: number;
  specificity: number;
  index: number;
}

function parseQ(params: string[]): number {
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'q') {
      const q = Number(v);
      return Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 1;
    }
  }
  return 1;
}

/** The format for an `Accept` header: highest q first, then the most specific range, then header order. */
export function formatFromAccept(accept: string | undefined): ResponseFormat {
  if (accept === undefined || accept.trim() === '') return 'json';
  const candidates: Candidate[] = [];
  accept.split(',').forEach((part, index) => {
    const [range, ...params] = part.split(';');
    const known = RANGES[(range ?? '').trim().toLowerCase()];
    const q = parseQ(params);
    if (known && q > 0) candidates.push({ ...known, q, index });
  });
  candidates.sort((a, b) => b.q - a.q || b.specificity - a.specificity || a.index - b.index);
  const best = candidates[0];
  if (!best) {
    throw new SqlgateError(
      'NOT_ACCEPTABLE',
      'none of the media types in Accept can be produced; this route answers application/json, text/csv, ' +
        'text/plain or application/x-ndjson',
    );
  }
  return best.format;
}

/** The format asked for by `?format=` (wins) or else by `Accept`. */
export function negotiateFormat(accept: string | undefined, formatParam: unknown): ResponseFormat {
  if (formatParam !== undefined) {
    if (typeof formatParam === 'string' && (RESPONSE_FORMATS as readonly string[]).includes(formatParam)) {
      return formatParam as ResponseFormat;
    }
    throw new SqlgateError('NOT_ACCEPTABLE', `format must be one of ${RESPONSE_FORMATS.join(', ')}`);
  }
  return formatFromAccept(accept);
}

/** `?pretty`, `?pretty=1`, `?pretty=true` are on; absent, `0` and `false` are off. */
export function flagParam(value: unknown): boolean {
  if (value === undefined) return false;
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  return !(v === '0' || v === 'false');
}
