import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyValidatorFactory } from '../../src/plugins/lazy-validator.js';

describe('lazy request validators', () => {
  const build = () =>
    Fastify({
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
      schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } },
    });

  it('validates like the eager compiler: errors, defaults, no coercion', async () => {
    const app = build();
    app.post(
      '/x',
      {
        schema: {
          body: Type.Object(
            { n: Type.Integer(), mode: Type.String({ default: 'object' }) },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => req.body,
    );
    const ok = await app.inject({ method: 'POST', url: '/x', payload: { n: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 1, mode: 'object' });
    const bad = await app.inject({ method: 'POST', url: '/x', payload: { n: '1' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/body\/n must be integer/);
    const extra = await app.inject({ method: 'POST', url: '/x', payload: { n: 1, z: 2 } });
    expect(extra.statusCode).toBe(400);
    await app.close();
  });

  it('compiles nothing at start-up and a route once, on its first request', async () => {
    const app = build();
    let getterCalls = 0;
    const schema = Type.Object({ n: Type.Integer() });
    // Ajv reads `properties` while compiling: count compilations through it.
    const props = schema.properties;
    Object.defineProperty(schema, 'properties', {
      get: () => {
        getterCalls++;
        return props;
      },
      enumerable: true,
    });
    app.post('/y', { schema: { body: schema } }, async () => ({}));
    await app.ready();
    expect(getterCalls).toBe(0);
    await app.inject({ method: 'POST', url: '/y', payload: { n: 1 } });
    const afterFirst = getterCalls;
    expect(afterFirst).toBeGreaterThan(0);
    await app.inject({ method: 'POST', url: '/y', payload: { n: 2 } });
    expect(getterCalls).toBe(afterFirst);
    await app.close();
  });
});
