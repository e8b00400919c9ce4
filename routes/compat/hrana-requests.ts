import { HranaProtocolError, toParam } from './hrana-values.js';

/**
 * The Hrana stream requests a pipeline may hold, checked in full before anything runs, so a malformed
 * pipeline changes nothing. @see https://github.com/tursodatabase/libsql/blob/main/docs/HTTP_V2_SPEC.md
 */

export interface HranaStmt {
  sql?: string;
  sql_id?: number;
  args?: unknown[];
  named_args?: Array<{ name: string; value: unknown }>;
  want_rows?: boolean;
}

export type HranaCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: HranaCond }
  | { type: 'and'; conds: HranaCond[] }
  | { type: 'or'; conds: HranaCond[] }
  | { type: 'is_autocommit' };

export interface HranaBatch {
  steps: Array<{ condition?: HranaCond | null; stmt: HranaStmt }>;
}

export type HranaRequest =
  | { type: 'close' }
  | { type: 'execute'; stmt: HranaStmt }
  | { type: 'batch'; batch: HranaBatch }
  | { type: 'sequence'; sql?: string; sql_id?: number }
  | { type: 'describe'; sql?: string; sql_id?: number }
  | { type: 'store_sql'; sql_id: number; sql: string }
  | { type: 'close_sql'; sql_id: number }
  | { type: 'get_autocommit' };

export interface PipelineBody {
  baton: string | null;
  requests: HranaRequest[];
}

export interface PipelineLimits {
  /** Requests in one pipeline. */
  maxRequests: number;
  /** Steps in one batch (limits.maxBatchStatements). */
  maxSteps: number;
  /** `version` 2 refuses what only Hrana 3 has (get_autocommit, is_autocommit). */
  version: 2 | 3;
}

const bad = (msg: string) => new HranaProtocolError(msg);
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const MAX_SQL_ID = 2 ** 31 - 1;

function sqlId(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SQL_ID)
    throw bad(`${where}.sql_id must be a non-negative 32-bit integer`);
  return v;
}

function sqlOrId(o: Record<string, unknown>, where: string): void {
  const hasSql = o.sql !== undefined && o.sql !== null;
  const hasId = o.sql_id !== undefined && o.sql_id !== null;
  if (hasSql === hasId) throw bad(`${where} needs exactly one of sql and sql_id`);
  if (hasSql && typeof o.sql !== 'string') throw bad(`${where}.sql must be a string`);
  if (hasId) sqlId(o.sql_id, where);
  if (!hasSql) delete o.sql;
  if (!hasId) delete o.sql_id;
}

function stmt(v: unknown, where: string): HranaStmt {
  if (!isObj(v)) throw bad(`${where} must be an object`);
  sqlOrId(v, where);
  if (v.args !== undefined && v.args !== null) {
    if (!Array.isArray(v.args)) throw bad(`${where}.args must be an array`);
    // Every value is checked here too, so a malformed one refuses the whole pipeline before it runs.
    v.args.forEach((a, i) => {
      toParam(a, `${where}.args[${i}]`);
    });
  }
  if (v.named_args !== undefined && v.named_args !== null) {
    if (!Array.isArray(v.named_args)) throw bad(`${where}.named_args must be an array`);
    v.named_args.forEach((a, i) => {
      if (!isObj(a) || typeof a.name !== 'string') throw bad(`${where}.named_args entries need a name`);
      toParam(a.value, `${where}.named_args[${i}]`);
    });
  }
  if (v.want_rows !== undefined && v.want_rows !== null && typeof v.want_rows !== 'boolean')
    throw bad(`${where}.want_rows must be a boolean`);
  return v as HranaStmt;
}

function cond(v: unknown, step: number, where: string, lim: PipelineLimits, depth = 0): HranaCond {
  if (depth > 32) throw bad(`${where} is nested too deeply`);
  if (!isObj(v)) throw bad(`${where} must be an object`);
  switch (v.type) {
    case 'ok':
    case 'error':
      if (typeof v.step !== 'number' || !Number.isInteger(v.step) || v.step < 0 || v.step >= step)
        throw bad(`${where}.step must name an earlier step`);
      return v as HranaCond;
    case 'not':
      cond(v.cond, step, `${where}.cond`, lim, depth + 1);
      return v as HranaCond;
    case 'and':
    case 'or':
      if (!Array.isArray(v.conds)) throw bad(`${where}.conds must be an array`);
      v.conds.forEach((c, i) => {
        cond(c, step, `${where}.conds[${i}]`, lim, depth + 1);
      });
      return v as HranaCond;
    case 'is_autocommit':
      if (lim.version < 3) throw bad(`${where}: is_autocommit needs Hrana 3 (/v3/pipeline)`);
      return v as HranaCond;
    default:
      throw bad(`${where}: unknown condition type`);
  }
}

function request(v: unknown, where: string, lim: PipelineLimits): HranaRequest {
  if (!isObj(v)) throw bad(`${where} must be an object`);
  switch (v.type) {
    case 'close':
      return { type: 'close' };
    case 'execute':
      stmt(v.stmt, `${where}.stmt`);
      return v as HranaRequest;
    case 'batch': {
      if (!isObj(v.batch) || !Array.isArray(v.batch.steps))
        throw bad(`${where}.batch.steps must be an array`);
      const steps = v.batch.steps as unknown[];
      if (steps.length > lim.maxSteps) throw bad(`${where}: a batch holds at most ${lim.maxSteps} steps`);
      steps.forEach((s, i) => {
        if (!isObj(s)) throw bad(`${where}.batch.steps[${i}] must be an object`);
        if (s.condition !== undefined && s.condition !== null)
          cond(s.condition, i, `${where}.batch.steps[${i}].condition`, lim);
        stmt(s.stmt, `${where}.batch.steps[${i}].stmt`);
      });
      return v as HranaRequest;
    }
    case 'sequence':
    case 'describe':
      sqlOrId(v, where);
      return v as HranaRequest;
    case 'store_sql':
      sqlId(v.sql_id, where);
      if (typeof v.sql !== 'string') throw bad(`${where}.sql must be a string`);
      return v as HranaRequest;
    case 'close_sql':
      sqlId(v.sql_id, where);
      return v as HranaRequest;
    case 'get_autocommit':
      if (lim.version < 3) throw bad(`${where}: get_autocommit needs Hrana 3 (/v3/pipeline)`);
      return { type: 'get_autocommit' };
    default:
      throw bad(`${where}: unknown request type`);
  }
}

/** Checks a pipeline body; HranaProtocolError (HTTP 400) for anything off. */
export function parsePipeline(body: unknown, lim: PipelineLimits): PipelineBody {
  if (!isObj(body)) throw bad('the body must be a JSON object');
  const baton = body.baton ?? null;
  if (baton !== null && typeof baton !== 'string') throw bad('baton must be a string or null');
  if (!Array.isArray(body.requests)) throw bad('requests must be an array');
  if (body.requests.length > lim.maxRequests)
    throw bad(`a pipeline holds at most ${lim.maxRequests} requests; got ${body.requests.length}`);
  const requests = body.requests.map((r, i) => request(r, `requests[${i}]`, lim));
  return { baton, requests };
}

export interface CursorBody {
  baton: string | null;
  batch: HranaBatch;
}

/** Checks a /v3/cursor body `{baton, batch}` exactly as a pipeline's batch request is checked. */
export function parseCursor(body: unknown, lim: PipelineLimits): CursorBody {
  if (!isObj(body)) throw bad('the body must be a JSON object');
  const baton = body.baton ?? null;
  if (baton !== null && typeof baton !== 'string') throw bad('baton must be a string or null');
  const req = request({ type: 'batch', batch: body.batch }, 'cursor', lim) as Extract<
    HranaRequest,
    { type: 'batch' }
  >;
  return { baton, batch: req.batch };
}
