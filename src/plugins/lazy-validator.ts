import AjvCompiler from '@fastify/ajv-compiler';

type Compile = ReturnType<ReturnType<typeof AjvCompiler>>;
type Validator = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };

/**
 * Fastify's own Ajv validator compiler, but each route's validator is compiled on the route's first
 * request instead of at start-up. Compiling the request schemas of every route was ~180 ms of the cold
 * start (bench/profile.mjs on the start-up); most routes of a given deployment are rarely or never called,
 * and the first call of a route pays its own ~10 ms once. Options, formats and behaviour are Fastify's
 * defaults (the same compiler, called later); fastify reads `errors` after a failed call and passes the
 * parent object when `schemaEnv` is set, which Ajv needs to apply defaults to the root.
 */
export function lazyValidatorFactory(): typeof buildCompiler {
  const pool = AjvCompiler();
  function buildCompiler(...args: Parameters<typeof pool>): Compile {
    const compile = pool(...args);
    return (route) => {
      let real: Validator | undefined;
      const lazy = ((data: unknown, ctx?: unknown) => {
        real ??= compile(route) as unknown as Validator;
        return ctx === undefined ? real(data) : real(data, ctx);
      }) as Validator;
      lazy.schemaEnv = true;
      Object.defineProperty(lazy, 'errors', { get: () => real?.errors });
      return lazy as unknown as ReturnType<Compile>;
    };
  }
  return buildCompiler;
}
