/**
 * The `Server-Timing` header of a statement response (W3C Server Timing): where the time went, readable in
 * curl -v and in a browser's network panel.
 *
 *     server-timing: queue;desc="wait for connection";dur=0.012, db;desc="database";dur=0.412,
 *                    ser;desc="serialize";dur=0.031
 *
 * Durations are milliseconds with µs precision.
 * @see https://www.w3.org/TR/server-timing/
 */
export interface TimingParts {
  /** Waiting for a pooled connection (or a session's turn). */
  queueMs: number;
  /** The statement on the database, as the backend measured it (the result's durationMs). */
  dbMs: number;
  /** Encoding the result into the response body. */
  serMs: number;
}

const fmt = (ms: number) => (Math.round(Math.max(0, ms) * 1000) / 1000).toString();

export function serverTiming(t: TimingParts): string {
  return (
    `queue;desc="wait for connection";dur=${fmt(t.queueMs)}, ` +
    `db;desc="database";dur=${fmt(t.dbMs)}, ser;desc="serialize";dur=${fmt(t.serMs)}`
  );
}
