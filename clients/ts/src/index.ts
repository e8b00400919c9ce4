export { Client, type ClientOptions, createClient, type Transaction } from './client.js';
export { SqlgateError } from './errors.js';
export type { RetryOptions } from './http.js';
export type { BatchOptions, BatchStatement, IsolationLevel, QueryOptions } from './queryable.js';
export type { Column, QueryResult } from './result.js';
export { Session, type SessionOptions } from './session.js';
export { SqlFragment, sql } from './sql.js';
export { RowStream, type StreamSummary } from './stream.js';
export { bigint, decimal, fromBase64, type Int64Mode, json, type Param, type TaggedValue, toBase64, typed } from './values.js';
