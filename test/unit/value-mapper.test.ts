import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromSqliteValue, toSqliteParam } from '../../src/backend/sqlite/sqlite-types.js';
import {
  coerceValue,
  decodeParam,
  encodeBytes,
  encodeFloat,
  encodeInt64,
} from '../../src/backend/value-mapper.js';
import { SqlgateError } from '../../src/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SqlgateError ? err.code : 'other';
  }
  return undefined;
}

describe('JSON params -> typed values', () => {
  it('decodes plain JSON by its kind', () => {
    expect(decodeParam(null, 'p')).toEqual({ type: 'NULL', value: null });
    expect(decodeParam(true, 'p')).toEqual({ type: 'BOOLEAN', value: true });
    expect(decodeParam(42, 'p')).toEqual({ type: 'INTEGER', value: 42 });
    expect(decodeParam(0.1 + 0.2, 'p')).toEqual({ type: 'DOUBLE', value: 0.30000000000000004 });
    expect(decodeParam('héllo 𝄞', 'p')).toEqual({ type: 'TEXT', value: 'héllo 𝄞' });
    expect(decodeParam({ a: [1, 'ü'] }, 'p')).toEqual({ type: 'JSON', value: { a: [1, 'ü'] } });
    expect(decodeParam([1, 'x'], 'p')).toEqual({
      type: 'ARRAY',
      value: [
        { type: 'INTEGER', value: 1 },
        { type: 'TEXT', value: 'x' },
      ],
    });
  });

  it('refuses integers JSON already rounded, pointing at BIGINT', () => {
    expect(codeOf(() => decodeParam(2 ** 53 + 2, 'p'))).toBe('PARAM_INVALID');
  });

  it('decodes int64 extremes exactly and refuses out-of-range values', () => {
    expect(decodeParam({ $type: 'BIGINT', value: '9223372036854775807' }, 'p')).toEqual({
      type: 'BIGINT',
      value: 9223372036854775807n,
    });
    expect(decodeParam({ $type: 'BIGINT', value: '-9223372036854775808' }, 'p').value).toBe(
      -9223372036854775808n,
    );
    expect(codeOf(() => decodeParam({ $type: 'BIGINT', value: '9223372036854775808' }, 'p'))).toBe(
      'PARAM_INVALID',
    );
    expect(codeOf(() => decodeParam({ $type: 'BIGINT', value: '1.5' }, 'p'))).toBe('PARAM_INVALID');
    expect(codeOf(() => decodeParam({ $type: 'BIGINT', value: 2 ** 60 }, 'p'))).toBe('PARAM_INVALID');
  });

  it('decodes the other tagged values and checks their format', () => {
    expect(decodeParam({ $type: 'DECIMAL', value: '12.30' }, 'p')).toEqual({
      type: 'DECIMAL',
      value: '12.30',
    });
    expect(codeOf(() => decodeParam({ $type: 'DECIMAL', value: '12,30' }, 'p'))).toBe('PARAM_INVALID');
    const blob = decodeParam({ $type: 'BLOB', base64: 'AAH/' }, 'p');
    expect(blob.type).toBe('BLOB');
    expect([...(blob.value as Uint8Array)]).toEqual([0, 1, 255]);
    expect(decodeParam({ $type: 'BLOB', base64: '' }, 'p').value).toEqual(new Uint8Array());
    expect(codeOf(() => decodeParam({ $type: 'BLOB', base64: 'not base64!' }, 'p'))).toBe('PARAM_INVALID');
    expect(decodeParam({ $type: 'DOUBLE', value: 'NaN' }, 'p').value).toBeNaN();
    expect(decodeParam({ $type: 'DOUBLE', value: '-Infinity' }, 'p').value).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeParam({ $type: 'DATE', value: '2024-02-29' }, 'p').type).toBe('DATE');
    expect(codeOf(() => decodeParam({ $type: 'DATE', value: '29/02/2024' }, 'p'))).toBe('PARAM_INVALID');
    expect(decodeParam({ $type: 'TIMESTAMP', value: '2024-02-29T23:59:59.123456+05:30' }, 'p').type).toBe(
      'TIMESTAMP',
    );
    expect(decodeParam({ $type: 'TIME', value: '23:59:59.123456' }, 'p').type).toBe('TIME');
    expect(decodeParam({ $type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000' }, 'p').type).toBe(
      'UUID',
    );
    expect(decodeParam({ $type: 'JSON', value: [1, { a: null }] }, 'p')).toEqual({
      type: 'JSON',
      value: [1, { a: null }],
    });
    expect(decodeParam({ $type: 'JSON', value: null }, 'p')).toEqual({ type: 'JSON', value: null });
    expect(decodeParam({ $type: 'TEXT', value: null }, 'p')).toEqual({ type: 'NULL', value: null });
    expect(codeOf(() => decodeParam({ $type: 'WHAT', value: 1 }, 'p'))).toBe('PARAM_INVALID');
    expect(codeOf(() => decodeParam({ $type: 'TEXT', value: 'x', extra: 1 }, 'p'))).toBe('PARAM_INVALID');
    expect(codeOf(() => decodeParam({ $type: 'TEXT' }, 'p'))).toBe('PARAM_INVALID');
  });

  it('never echoes the value in an error message', () => {
    const secret = 'sentinel-9f8e7d';
    try {
      decodeParam({ $type: 'DATE', value: secret }, 'params[0]');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
      expect((err as Error).message).toContain('params[0]');
    }
  });
});

describe('result encoders', () => {
  it('encodes int64 as strings by default and as numbers only when exact', () => {
    expect(encodeInt64(9223372036854775807n, 'string')).toBe('9223372036854775807');
    expect(encodeInt64(-9223372036854775808n, 'string')).toBe('-9223372036854775808');
    expect(encodeInt64(9007199254740991n, 'number')).toBe(9007199254740991);
    expect(encodeInt64('-9007199254740991', 'number')).toBe(-9007199254740991);
    expect(codeOf(() => encodeInt64(9007199254740992n, 'number'))).toBe('TYPE_CONVERSION_ERROR');
    expect(codeOf(() => encodeInt64('9223372036854775807', 'number'))).toBe('TYPE_CONVERSION_ERROR');
  });

  it('encodes special floats as strings and finite ones unchanged', () => {
    expect(encodeFloat(0.1 + 0.2)).toBe(0.30000000000000004);
    expect(encodeFloat(Number.NaN)).toBe('NaN');
    expect(encodeFloat(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(encodeFloat(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(Object.is(encodeFloat(-0), -0)).toBe(true);
  });

  it('round-trips arbitrary bytes through base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b64 = encodeBytes(bytes);
        const back = decodeParam({ $type: 'BLOB', base64: b64 }, 'p').value as Uint8Array;
        expect([...back]).toEqual([...bytes]);
      }),
    );
    const sub = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    expect(encodeBytes(sub)).toBe('AQID');
  });

  it('round-trips any int64 through the BIGINT tag and the SQLite encoder', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const p = decodeParam({ $type: 'BIGINT', value: n.toString() }, 'p');
        const bound = toSqliteParam(p, 'p');
        expect(fromSqliteValue(bound, 'BIGINT', 'string')).toBe(n.toString());
      }),
    );
  });

  it('coerces columnTypes exactly or refuses', () => {
    expect(coerceValue(1, 'BOOLEAN', 'string', 'c')).toBe(true);
    expect(coerceValue('0', 'BOOLEAN', 'string', 'c')).toBe(false);
    expect(codeOf(() => coerceValue(2, 'BOOLEAN', 'string', 'c'))).toBe('TYPE_CONVERSION_ERROR');
    expect(coerceValue('2024-01-02 03:04:05', 'DATETIME', 'string', 'c')).toBe('2024-01-02T03:04:05');
    expect(coerceValue('{"a":1}', 'JSON', 'string', 'c')).toEqual({ a: 1 });
    expect(codeOf(() => coerceValue('{', 'JSON', 'string', 'c'))).toBe('TYPE_CONVERSION_ERROR');
    expect(coerceValue('12', 'BIGINT', 'number', 'c')).toBe(12);
    expect(coerceValue(null, 'DATE', 'string', 'c')).toBeNull();
  });
});

describe('SQLite values', () => {
  it('maps declared types to exact JSON values', () => {
    expect(fromSqliteValue(1n, 'BOOLEAN', 'string')).toBe(true);
    expect(fromSqliteValue(0n, 'BOOLEAN', 'string')).toBe(false);
    expect(fromSqliteValue('2024-01-02 03:04:05.123456', 'DATETIME', 'string')).toBe(
      '2024-01-02T03:04:05.123456',
    );
    expect(fromSqliteValue('{"k":[1,2]}', 'JSON', 'string')).toEqual({ k: [1, 2] });
    expect(fromSqliteValue(Buffer.from([0, 255]), null, 'string')).toBe('AP8=');
    expect(fromSqliteValue(Number.POSITIVE_INFINITY, 'DOUBLE', 'string')).toBe('Infinity');
  });

  it('refuses what SQLite would silently change', () => {
    expect(codeOf(() => toSqliteParam({ type: 'DOUBLE', value: Number.NaN }, 'p'))).toBe('PARAM_INVALID');
    expect(codeOf(() => toSqliteParam({ type: 'ARRAY', value: [] }, 'p'))).toBe('UNSUPPORTED_FEATURE');
  });
});

describe('PostgreSQL-shaped dates are accepted back', () => {
  it('takes BC dates and offsets with seconds', () => {
    expect(decodeParam({ $type: 'DATE', value: '0044-03-15 BC' }, 'p').type).toBe('DATE');
    expect(decodeParam({ $type: 'TIMESTAMP', value: '1850-01-01T00:00:00+00:19:32' }, 'p').type).toBe(
      'TIMESTAMP',
    );
    expect(decodeParam({ $type: 'TIMESTAMP', value: '0044-03-15T12:00:00+00:00 BC' }, 'p').type).toBe(
      'TIMESTAMP',
    );
    expect(codeOf(() => decodeParam({ $type: 'DATE', value: '2024-01-01 AD' }, 'p'))).toBe('PARAM_INVALID');
    expect(decodeParam({ $type: 'TIME', value: '-838:59:59.000000' }, 'p').type).toBe('TIME');
    expect(decodeParam({ $type: 'TIME', value: '123:00:00' }, 'p').type).toBe('TIME');
    expect(codeOf(() => decodeParam({ $type: 'TIME', value: '1:00' }, 'p'))).toBe('PARAM_INVALID');
  });
});

describe('tagged dates and times are checked against the calendar (issue #15, defect 5)', () => {
  const ok = (type: string, value: string) => decodeParam({ $type: type, value }, 'p');
  const refused = (type: string, value: string) => {
    let err: unknown;
    try {
      ok(type, value);
    } catch (e) {
      err = e;
    }
    expect(err, `${type} ${value}`).toBeInstanceOf(SqlgateError);
    expect((err as SqlgateError).code).toBe('PARAM_INVALID');
    expect((err as SqlgateError).message).not.toContain(value);
  };

  it('refuses impossible days, months, hours, minutes, seconds and offsets', () => {
    refused('DATE', '2024-02-30');
    refused('DATE', '2023-02-29');
    refused('DATE', '2024-04-31');
    refused('DATE', '2024-13-01');
    refused('DATE', '2024-00-10');
    refused('DATE', '2024-01-00');
    refused('DATETIME', '2024-02-30T10:00:00');
    refused('DATETIME', '2024-01-01 25:00:00');
    refused('DATETIME', '2024-01-01T10:60:00');
    refused('TIMESTAMP', '2024-13-01T00:00:00Z');
    refused('TIMESTAMP', '2024-01-01T00:00:61+00:00');
    refused('TIMESTAMP', '2024-01-01T00:00:00+16:00');
    refused('TIME', '10:61:00');
    refused('TIME', '10:00:60');
  });

  it('accepts every real date, leap days, MySQL durations, BC eras, infinity and microseconds', () => {
    expect(ok('DATE', '2024-02-29')).toEqual({ type: 'DATE', value: '2024-02-29' });
    expect(ok('DATE', '2000-02-29').value).toBe('2000-02-29');
    expect(ok('DATE', '0001-02-29 BC').value).toBe('0001-02-29 BC'); // 1 BC is a leap year
    expect(ok('DATE', 'infinity').value).toBe('infinity');
    expect(ok('DATE', '2024-12-31').value).toBe('2024-12-31');
    expect(ok('DATETIME', '2024-02-29 23:59:59.999999').value).toBe('2024-02-29 23:59:59.999999');
    expect(ok('TIMESTAMP', '2024-06-30T12:00:00.123456+05:45').value).toBe(
      '2024-06-30T12:00:00.123456+05:45',
    );
    expect(ok('TIMESTAMP', '1900-01-01 00:00:00+00:19:32').value).toBe('1900-01-01 00:00:00+00:19:32');
    expect(ok('TIME', '838:59:59').value).toBe('838:59:59');
    expect(ok('TIME', '-12:30:00').value).toBe('-12:30:00');
    expect(ok('TIME', '23:59:59.5+02:00').value).toBe('23:59:59.5+02:00');
  });
});
