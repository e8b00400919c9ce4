import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/app.js';
import { lazyChildLoggerFactory } from '../../src/plugins/lazy-child-logger.js';

/** The per-request logger made on first use must log exactly what a pino child would. */
describe('lazy child logger', () => {
  const capture = (level: string) => {
    const lines: Array<Record<string, unknown>> = [];
    const parent = pino(
      { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      { write: (s: string) => lines.push(JSON.parse(s)) },
    );
    return { parent, lines };
  };
  const make = (parent: pino.Logger, bindings: Record<string, unknown>) =>
    // biome-ignore lint/suspicious/noExplicitAny: the factory is called the way Fastify calls it
    (lazyChildLoggerFactory as any).call(undefined, parent, bindings, {}, undefined);

  it('writes nothing below the level and, at it, lines with the bindings, redacted like pino children', () => {
    const { parent, lines } = capture('warn');
    const log = make(parent, { reqId: 'r-1' });
    log.info({ a: 1 }, 'not written');
    log.debug('not written');
    expect(lines).toHaveLength(0);
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    log.warn({ password: 'hunter2', n: 2 }, 'written');
    log.error(new Error('boom'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: 'r-1', n: 2, password: '[redacted]', msg: 'written', level: 40 });
    expect(lines[1]).toMatchObject({ reqId: 'r-1', level: 50, err: { message: 'boom' } });
  });

  it('children and bindings come from the real pino child', () => {
    const { parent, lines } = capture('info');
    const log = make(parent, { reqId: 'r-2' });
    log.child({ backend: 'db' }).info('from a child');
    expect(lines[0]).toMatchObject({ reqId: 'r-2', backend: 'db', msg: 'from a child' });
    expect(log.bindings()).toEqual({ reqId: 'r-2' });
    log.level = 'error';
    log.warn('now below the level');
    expect(lines).toHaveLength(1);
  });
});
