import type { ExecOptions, GenericType, ValueMode } from '../backend/types.js';
import type { Config } from '../config.js';

/** What a client may say about one statement (the `options` object). */
export interface ClientStatementOptions {
  rowMode?: 'object' | 'array';
  int64?: 'string' | 'number' | 'auto';
  jsonNumbers?: 'exact' | 'string';
  columnTypes?: Record<string, GenericType>;
  valueMode?: ValueMode;
  timeoutMs?: number;
  maxRows?: number;
}

/**
 * Merges a client's options with the configured limits: a client may lower maxRows and pick a timeout up
 * to `limits.maxStatementTimeoutMs`, never raise a limit past the configuration.
 */
export function execOptions(
  limits: Config['limits'],
  client: ClientStatementOptions | undefined,
  signal?: AbortSignal,
  principalMaxRows?: number,
): ExecOptions {
  const ceilingRows = Math.min(limits.maxRows, principalMaxRows ?? Number.POSITIVE_INFINITY);
  const timeoutMs =
    client?.timeoutMs !== undefined
      ? Math.min(client.timeoutMs, limits.maxStatementTimeoutMs || client.timeoutMs)
      : limits.statementTimeoutMs;
  return {
    rowMode: client?.rowMode ?? 'object',
    int64: client?.int64 ?? 'string',
    columnTypes: client?.columnTypes,
    ...(client?.jsonNumbers === 'string' ? { jsonNumbers: 'string' as const } : {}),
    ...(client?.valueMode === 'raw' ? { valueMode: 'raw' as const } : {}),
    timeoutMs,
    maxRows: Math.min(client?.maxRows ?? ceilingRows, ceilingRows),
    maxResponseBytes: limits.maxResponseBytes,
    signal,
  };
}
