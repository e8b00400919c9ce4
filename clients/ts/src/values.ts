import { SqlgateError } from './errors.js';

/** How BIGINT values (and lastInsertId) reach your code. */
export type Int64Mode = 'number-if-safe' | 'bigint' | 'string';

/** A tagged parameter as the gateway reads it (`{"$type": "BIGINT", "value": "..."}`, see docs/api.md). */
export interface TaggedValue {
  /** The GenericType the value is sent as. */
  $type: string;
  /** The value's text (or, for JSON, the value itself). */
  value?: unknown;
  /** BLOB bytes, base64. */
  base64?: string;
}

/** What a parameter may be: JS values the client maps exactly, or an already tagged value. */
export type Param =
  | null
  | undefined
  | boolean
  | number
  | string
  | bigint
  | Date
  | Uint8Array
  | ArrayBuffer
  | TaggedValue
  | readonly Param[]
  | { readonly [key: string]: unknown };

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER_RE = /^-?\d+$/;

const invalid = (where: string, what: string) =>
  new SqlgateError('PARAM_INVALID', `${where}: ${what}`, { class: 'TypeConversionError' });

/** Base64 of bytes, without Node's Buffer. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of a base64 string. */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A BIGINT parameter from a bigint, a safe integer or a decimal integer string; refuses anything else. */
export function bigint(value: bigint | number | string): TaggedValue {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && INTEGER_RE.test(value)) v = BigInt(value);
  else throw invalid('BIGINT', `${String(value)} is not an exact 64-bit integer`);
  if (v < INT64_MIN || v > UINT64_MAX) throw invalid('BIGINT', `${v} is outside the 64-bit range`);
  return { $type: 'BIGINT', value: v.toString() };
}

/** A DECIMAL parameter from its exact text (or any decimal object whose toString gives it). */
export function decimal(value: string | { toString(): string }): TaggedValue {
  const text = String(value);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) throw invalid('DECIMAL', `"${text}" is not a number`);
  return { $type: 'DECIMAL', value: text };
}

/** A JSON parameter: the value is sent as JSON, whatever its shape. */
export function json(value: unknown): TaggedValue {
  return { $type: 'JSON', value: checkJson(value, 'JSON') };
}

/** A value tagged with an explicit GenericType (`DATE`, `TIME`, `DATETIME`, `TIMESTAMP`, `UUID`, `TEXT`). */
export function typed(type: string, value: string): TaggedValue {
  return { $type: type, value };
}

function checkJson(value: unknown, where: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(where, `${value} cannot be written as JSON`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => checkJson(v, `${where}[${i}]`));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(where, `a ${proto?.constructor?.name ?? 'class'} instance is not JSON`);
    }
    for (const [k, v] of Object.entries(value)) checkJson(v, `${where}.${k}`);
    return value;
  }
  throw invalid(where, `a ${typeof value} cannot be sent (bigint inside JSON: send it as a string)`);
}

/** One JS value -> its wire form. Refuses what it cannot send exactly (NaN, unsafe integers, classes). */
export function encodeParam(value: unknown, where: string): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(where, `${value} has no SQL value; use null`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw invalid(where, `${value} is beyond 2^53-1 and already rounded; pass a bigint`);
      }
      return value;
    case 'bigint':
      return bigint(value);
    case 'object':
      break;
    default:
      throw invalid(where, `a ${typeof value} is not a SQL value`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid(where, 'an invalid Date');
    return { $type: 'TIMESTAMP', value: value.toISOString() };
  }
  if (value instanceof Uint8Array) return { $type: 'BLOB', base64: toBase64(value) };
  if (value instanceof ArrayBuffer) return { $type: 'BLOB', base64: toBase64(new Uint8Array(value)) };
  if (Array.isArray(value)) return value.map((v, i) => encodeParam(v, `${where}[${i}]`));
  if (typeof (value as TaggedValue).$type === 'string') return value;
  return json(value);
}

/** Encodes positional or named parameters; `undefined` stays absent. */
export function encodeParams(params: unknown): unknown {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map((p, i) => encodeParam(p, `params[${i}]`));
  if (typeof params === 'object' && params !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) out[k] = encodeParam(v, `params.${k}`);
    return out;
  }
  throw invalid('params', 'must be an array or an object');
}

/** How results are decoded. */
export interface DecodeOptions {
  /** BIGINT values and lastInsertId. */
  int64: Int64Mode;
  /** TIMESTAMP (with zone) as a `Date` (milliseconds) or the exact ISO string (microseconds kept). */
  timestamps: 'string' | 'date';
  /** Turns a DECIMAL's exact text into your decimal type; the text itself when absent. */
  decimal?: ((text: string) => unknown) | undefined;
}

type Decoder = (v: unknown) => unknown;

/** The value decoder of one column type, or undefined when the JSON value is already the JS value. */
export function decoderFor(type: string, o: DecodeOptions): Decoder | undefined {
  switch (type) {
    case 'BIGINT':
      return int64Decoder(o.int64);
    case 'DECIMAL':
      return o.decimal ? (v) => (typeof v === 'string' ? o.decimal?.(v) : v) : undefined;
    case 'FLOAT':
    case 'DOUBLE':
      return (v) => (typeof v === 'string' ? Number(v) : v);
    case 'BLOB':
      return (v) => (typeof v === 'string' ? fromBase64(v) : v);
    case 'TIMESTAMP':
      return o.timestamps === 'date' ? (v) => (typeof v === 'string' ? new Date(v) : v) : undefined;
    default:
      return undefined;
  }
}

/** Turns an int64 that came as a number (safe) or a string (unsafe, or "string" mode) into the mode's form. */
export function int64Decoder(mode: Int64Mode): Decoder {
  if (mode === 'bigint') return (v) => (v === null ? v : BigInt(v as string | number));
  if (mode === 'string') return (v) => (v === null ? v : String(v));
  return (v) => v;
}
