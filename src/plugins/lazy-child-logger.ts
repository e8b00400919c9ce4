import type { FastifyBaseLogger } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger.js';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Parameters<FastifyChildLoggerFactory>[1];
type ChildOptions = Parameters<FastifyChildLoggerFactory>[2];
/** pino's loggers have isLevelEnabled; a logger without it is treated as logging everything. */
type Parent = FastifyBaseLogger & { isLevelEnabled?(level: string): boolean };

const enabledIn = (logger: Parent, level: string): boolean =>
  typeof logger.isLevelEnabled === 'function' ? logger.isLevelEnabled(level) : true;

/**
 * Fastify gives every request a child logger with the request id bound. With pino and our redaction paths
 * that child costs more than it seems: pino serializes and redacts the bindings when the child is made, and
 * the child is made for every request although at the usual `warn` level a request logs nothing. Bisected
 * on the point query, the per-request logger was ~8% of the gateway's CPU.
 *
 * This child is made on the first call at a level that is enabled; calls at disabled levels return at
 * once. Anything else (`child`, `bindings`, setting `level`) makes the real child first, so the behaviour is
 * pino's own. A route-level log level (`opts.level`) gets the real child straight away.
 */
export const lazyChildLoggerFactory: FastifyChildLoggerFactory = (logger, bindings, opts) => {
  if (opts.level !== undefined) return logger.child(bindings, opts);
  return new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
};

class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: Parent,
    private readonly childBindings: Bindings,
    private readonly childOptions: ChildOptions,
  ) {}

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.childBindings, this.childOptions);
    return this.made;
  }

  private log(level: Level, args: unknown[]): void {
    if (!enabledIn(this.parent, level)) return;
    (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.log('error', args);
  }
  warn(...args: unknown[]): void {
    this.log('warn', args);
  }
  info(...args: unknown[]): void {
    this.log('info', args);
  }
  debug(...args: unknown[]): void {
    this.log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.log('trace', args);
  }
  silent(): void {}

  isLevelEnabled(level: string): boolean {
    return enabledIn(this.made ?? this.parent, level);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }

  bindings(): Record<string, unknown> {
    return (this.real() as unknown as { bindings(): Record<string, unknown> }).bindings();
  }

  get level(): string {
    return this.made ? this.made.level : this.parent.level;
  }

  set level(value: string) {
    this.real().level = value;
  }
}
