/*
 * What the environment contributes to the configuration: `${VAR}` interpolation in the file, a bare
 * DATABASE_URL when the file names no backend, and the SQLGATE_* / CLI overrides. src/config.ts is the
 * only caller; it passes `process.env` (or a test's env) in, so nothing here reads it itself.
 */

/** `${VAR}` / `${VAR:-default}` in every string of the parsed document; unset without default is a problem. */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: string,
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, def?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (def !== undefined) return def;
        problems.push(`${path || '/'}: environment variable ${name} is not set`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}/${i}`, problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, `${path}/${k}`, problems);
    return out;
  }
  return value;
}

/** The backend a bare `DATABASE_URL` describes; undefined (and a problem) for a URL of no known kind. */
function backendFromUrl(url: string, problems: string[]): Record<string, unknown> | undefined {
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgres', url };
  if (/^(mysql|mariadb):\/\//.test(url)) return { driver: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  if (url.startsWith('sqlite:')) {
    const database = url.replace(/^sqlite:(\/\/)?/, '') || ':memory:';
    return { driver: 'sqlite', database };
  }
  problems.push('DATABASE_URL: expected a postgres://, mysql:// or sqlite: URL');
  return undefined;
}

/** CLI flags that override the file. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  insecure?: boolean;
}

/**
 * Applies the environment and the CLI flags to a (cloned, interpolated) document in place: the default
 * backend when none is configured, SQLGATE_HOST/PORT/LOG_LEVEL, then the flags (which win).
 */
export function applyEnvironment(
  working: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  overrides: ConfigOverrides | undefined,
  problems: string[],
): void {
  if (working.backends === undefined) {
    if (!env.DATABASE_URL) {
      working.backends = { default: { driver: 'sqlite', database: './data/sqlgate.sqlite' } };
    } else {
      const fromUrl = backendFromUrl(env.DATABASE_URL, problems);
      working.backends = fromUrl ? { default: fromUrl } : {};
    }
  }
  const server = (working.server ?? {}) as Record<string, unknown>;
  if (env.SQLGATE_HOST) server.host = env.SQLGATE_HOST;
  if (env.SQLGATE_PORT) server.port = Number(env.SQLGATE_PORT);
  if (overrides?.host !== undefined) server.host = overrides.host;
  if (overrides?.port !== undefined) server.port = overrides.port;
  if (overrides?.insecure) server.insecure = true;
  working.server = server;
  if (env.SQLGATE_LOG_LEVEL)
    working.logging = { ...((working.logging as object) ?? {}), level: env.SQLGATE_LOG_LEVEL };
}
