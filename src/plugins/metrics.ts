import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats, ReplicaStats } from '../backend/storage-backend.js';
import type { ErrorCode } from '../errors.js';

/**
 * Prometheus metrics of one app instance. Each app has its own Registry (never prom-client's global
 * one), so several apps in one process (tests) do not collide. Request metrics are recorded by hooks;
 * query metrics by the routes through `app.metrics`; pool and session gauges are read at scrape time.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** One finished statement: latency histogram by backend and command (SELECT, INSERT, ...). */
  observeQuery(backend: string, command: string, seconds: number): void;
  /** Rows returned (or affected) by statements on `backend`. */
  rows(backend: string, n: number): void;
  /** `observeQuery` + `rows` from a QueryResult, the usual call after a statement. */
  observeResult(backend: string, result: { command: string; durationMs: number; rowCount: number }): void;
  /** An error answered to a client, by code (called by the error handler). */
  countError(code: ErrorCode): void;
}

/**
 * What is read from `app.sessions.metrics()` at scrape time when the sessions plugin is registered
 * (the shape of `SessionMetrics` in src/sessions/session-store.ts, restated so this plugin does not
 * depend on the session store).
 */
export interface SessionCounts {
  /** Open sessions per backend name. */
  openByBackend: Record<string, number>;
  openedTotal: number;
  /** Ended by the idle timeout or the maximum lifetime. */
  reapedTotal: number;
  closedTotal: number;
  /** Opens refused with TOO_MANY_SESSIONS. */
  rejectedTotal: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

/** Seconds; from sub-millisecond SQLite reads to statements that hit the 30 s default timeout. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Label-set handles of the query histogram kept at most (backend × raw command). */
const MAX_CACHED_COMMANDS = 256;

/** Command labels stay a small set: anything unusual is counted as OTHER. */
function commandLabel(command: string): string {
  const c = command.trim().toUpperCase();
  return /^[A-Z][A-Z ]{0,31}$/.test(c) ? c : 'OTHER';
}

/** The session store's numbers, or undefined while no session store is registered. */
function readSessionCounts(app: FastifyInstance): SessionCounts | undefined {
  if (!app.hasDecorator('sessions')) return undefined;
  const store = (app as unknown as { sessions?: { metrics?: () => SessionCounts } }).sessions;
  return typeof store?.metrics === 'function' ? store.metrics() : undefined;
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'sqlgate_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'sqlgate_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of the response, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const responseBytes = new Counter({
    name: 'sqlgate_http_response_bytes_total',
    help: 'Bytes of response bodies sent (streamed bodies such as Swagger UI files are not counted), by route.',
    labelNames: ['route'] as const,
    registers,
  });
  const queryDuration = new Histogram({
    name: 'sqlgate_query_duration_seconds',
    help: 'Statement latency as measured around the driver call, by backend and command.',
    labelNames: ['backend', 'command'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const resultRows = new Counter({
    name: 'sqlgate_result_rows_total',
    help: 'Rows returned by statements, by backend.',
    labelNames: ['backend'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'sqlgate_errors_total',
    help: 'Error responses, by error code (see docs/errors.md).',
    labelNames: ['code'] as const,
    registers,
  });

  const backends = () => (app.hasDecorator('backends') ? app.backends.all() : []);
  const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['backend'] as const,
      registers,
      collect() {
        this.reset();
        for (const b of backends()) this.set({ backend: b.name }, pick(b.poolStats()));
      },
    });
  poolGauge('sqlgate_pool_connections', 'Connections open (idle + in use), by backend.', (s) => s.total);
  poolGauge('sqlgate_pool_connections_idle', 'Open connections not in use, by backend.', (s) => s.idle);
  poolGauge('sqlgate_pool_connections_in_use', 'Connections handed out, by backend.', (s) => s.inUse);
  poolGauge(
    'sqlgate_pool_waiting_requests',
    'Requests waiting for a connection, by backend.',
    (s) => s.waiting,
  );
  poolGauge('sqlgate_pool_max_connections', 'Configured pool size, by backend.', (s) => s.max);

  // Read replicas (backends with `replicas`): one series per target, `primary` or a replica's host:port.
  const replicaMetric = (name: string, help: string, pick: (s: ReplicaStats) => number, counter = false) => {
    const Metric = counter ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames: ['backend', 'target'] as const,
      registers,
      collect() {
        this.reset();
        for (const b of backends()) {
          for (const r of b.replicaStats?.() ?? []) {
            const v = pick(r);
            if (this instanceof Gauge) this.set({ backend: b.name, target: r.target }, v);
            else if (v > 0) this.inc({ backend: b.name, target: r.target }, v);
          }
        }
      },
    });
  };
  replicaMetric('sqlgate_replica_up', '1 when the target is usable for reads (reachable, a standby).', (r) =>
    r.up ? 1 : 0,
  );
  replicaMetric(
    'sqlgate_replica_lag_seconds',
    'Replay lag at the last check; -1 unknown.',
    (r) => r.lagSeconds,
  );
  replicaMetric(
    'sqlgate_replica_reads_total',
    'Autocommit reads answered, by target.',
    (r) => r.served,
    true,
  );
  replicaMetric(
    'sqlgate_replica_fallbacks_total',
    'Reads a replica refused or failed that the primary ran instead, by replica.',
    (r) => r.fellBack,
    true,
  );

  new Gauge({
    name: 'sqlgate_sessions_open',
    help: 'Sessions open now, by backend.',
    labelNames: ['backend'] as const,
    registers,
    collect() {
      this.reset();
      const counts = readSessionCounts(app);
      // Every backend gets a sample, 0 included, so the series exists before the first session.
      for (const b of backends()) this.set({ backend: b.name }, counts?.openByBackend[b.name] ?? 0);
    },
  });
  const sessionCounter = (name: string, help: string, pick: (c: SessionCounts) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const counts = readSessionCounts(app);
        this.reset();
        if (counts && pick(counts) > 0) this.inc(pick(counts));
      },
    });
  sessionCounter('sqlgate_sessions_opened_total', 'Sessions opened since start.', (c) => c.openedTotal);
  sessionCounter(
    'sqlgate_sessions_reaped_total',
    'Sessions ended by the idle timeout or the maximum lifetime since start.',
    (c) => c.reapedTotal,
  );
  sessionCounter(
    'sqlgate_sessions_closed_total',
    'Sessions ended for any reason since start.',
    (c) => c.closedTotal,
  );
  sessionCounter(
    'sqlgate_sessions_rejected_total',
    'Session opens refused with TOO_MANY_SESSIONS since start.',
    (c) => c.rejectedTotal,
  );

  // prom-client builds and checks the label set on every call; a labelled child per label set skips that.
  // The sets are small (backends × commands, route patterns × methods × statuses). The query cache is keyed
  // by the raw command (commandLabel is a regex) and stops growing at MAX_CACHED_COMMANDS, past which
  // unusual commands go the uncached way.
  const queryChildren = new Map<string, { observe(v: number): void }>();
  const rowChildren = new Map<string, { inc(v: number): void }>();
  const metrics: GatewayMetrics = {
    registry,
    observeQuery(backend, command, seconds) {
      const key = `${backend}\0${command}`;
      let child = queryChildren.get(key);
      if (!child) {
        child = queryDuration.labels({ backend, command: commandLabel(command) });
        if (queryChildren.size < MAX_CACHED_COMMANDS) queryChildren.set(key, child);
      }
      child.observe(seconds);
    },
    rows(backend, n) {
      if (n <= 0) return;
      let child = rowChildren.get(backend);
      if (!child) {
        child = resultRows.labels({ backend });
        rowChildren.set(backend, child);
      }
      child.inc(n);
    },
    observeResult(backend, result) {
      this.observeQuery(backend, result.command, result.durationMs / 1000);
      this.rows(backend, result.rowCount);
    },
    countError(code) {
      errors.inc({ code });
    },
  };
  app.decorate('metrics', metrics);

  interface RouteChildren {
    requests: { inc(): void };
    duration: { observe(v: number): void };
    bytes: { inc(v: number): void };
  }
  const routeChildren = new Map<string, RouteChildren>();
  const childrenFor = (route: string, method: string, status: number): RouteChildren => {
    const key = `${route} ${method} ${status}`;
    let c = routeChildren.get(key);
    if (!c) {
      const labels = { route, method, status: String(status) };
      c = {
        requests: httpRequests.labels(labels),
        duration: httpDuration.labels(labels),
        bytes: responseBytes.labels({ route }),
      };
      routeChildren.set(key, c);
    }
    return c;
  };

  // One callback-style hook per response (no promise per request). The route pattern (`/v1/sessions/:id`),
  // never the raw URL: ids must not become label values. Body bytes come from the Content-Length Fastify
  // set for string and Buffer payloads (streams have none and are not counted), instead of measuring the
  // payload again.
  app.addHook('onResponse', (request, reply, done) => {
    const c = childrenFor(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode);
    c.requests.inc();
    c.duration.observe(reply.elapsedTime / 1000);
    const length = reply.getHeader('content-length');
    const n = typeof length === 'number' ? length : typeof length === 'string' ? Number(length) : 0;
    if (n > 0) c.bytes.inc(n);
    done();
  });
}

export default fp(metricsPlugin, { name: 'sqlgate-metrics' });
