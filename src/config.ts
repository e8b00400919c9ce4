import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { BackendConfig } from './backend/backend-config.js';
import { applyEnvironment, type ConfigOverrides, interpolate } from './config/env.js';
import { BackendSchema, ConfigSchema, type RawConfig } from './config/schema.js';
import { crossFieldProblems, defaultBackendOf } from './config/validate.js';

/**
 * Loading the configuration: a file (YAML or JSON) plus environment interpolation, checked once at start
 * with every problem listed (schema and cross-field alike, each with its JSON path), then frozen. This is
 * the only module that reads `process.env`. The parts: config/schema.ts (the TypeBox schema and the types
 * derived from it), config/env.ts (interpolation, DATABASE_URL, overrides), config/validate.ts (the checks
 * a schema cannot express).
 */

export { ConfigSchema, JWT_ALGORITHMS, PUBLIC_PATHS, type RawConfig } from './config/schema.js';
export { isLoopbackHost } from './config/validate.js';

/** The validated configuration: RawConfig with the default backend resolved and every backend named. */
export interface Config extends Omit<RawConfig, 'backends' | 'defaultBackend'> {
  defaultBackend: string;
  backends: Record<string, BackendConfig>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export interface LoadOptions {
  /** Path to a YAML or JSON file; defaults to SQLGATE_CONFIG. */
  file?: string;
  /** An already parsed document (tests); wins over `file`. */
  document?: unknown;
  env?: NodeJS.ProcessEnv;
  /** CLI flags that override the file. */
  overrides?: ConfigOverrides;
}

/**
 * A config file's text as a value. JSON (a YAML subset) goes through JSON.parse: the first YAML parse in a
 * process costs 10-20 ms of the cold start, JSON.parse of the same text well under 1 ms. Anything else, and
 * JSON that JSON.parse refuses, is parsed as YAML, whose error messages are the ones reported. (Unlike the
 * YAML parser, JSON.parse keeps the last of duplicate keys instead of refusing them.)
 */
function parseDocument(text: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all: YAML flow syntax, or an error the YAML parser reports below
    }
  }
  return parseYaml(text) ?? {};
}

/** The document of `opts`: the given one, the file's, or an empty one. A file that cannot be read or parsed is the only problem. */
function readDocument(opts: LoadOptions, env: NodeJS.ProcessEnv): unknown {
  if (opts.document !== undefined) return opts.document;
  const file = opts.file ?? env.SQLGATE_CONFIG;
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  try {
    return parseDocument(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
}

/**
 * Reads, interpolates, defaults, validates and freezes the configuration; throws ConfigError listing every
 * problem: unset environment variables, schema violations and cross-field rules together.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  let doc: unknown = readDocument(opts, env) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(['the configuration must be an object']);
  doc = interpolate(doc, env, '', problems);
  const working = structuredClone(doc) as Record<string, unknown>;
  applyEnvironment(working, env, opts.overrides, problems);

  // Value.Default does not descend into Record values, so each backend gets its defaults itself.
  if (working.backends && typeof working.backends === 'object' && !Array.isArray(working.backends)) {
    const b = working.backends as Record<string, unknown>;
    for (const k of Object.keys(b))
      if (b[k] && typeof b[k] === 'object') b[k] = Value.Default(BackendSchema, b[k]);
  }
  // Interpolated values are strings; Convert turns "9090" into 9090 where the schema wants a number.
  const withDefaults = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, working)) as Record<
    string,
    unknown
  >;
  for (const e of Value.Errors(ConfigSchema, withDefaults)) problems.push(`${e.path || '/'}: ${e.message}`);
  problems.push(...crossFieldProblems(withDefaults));
  if (problems.length > 0) throw new ConfigError(dedupe(problems));

  const raw = withDefaults as RawConfig;
  const backends: Record<string, BackendConfig> = {};
  for (const [name, b] of Object.entries(raw.backends)) backends[name] = { name, ...b };
  return deepFreeze({ ...raw, defaultBackend: defaultBackendOf(raw), backends });
}

/** True when requests must carry credentials (API keys or JWT configured). */
export function isAuthConfigured(config: Pick<RawConfig, 'auth'>): boolean {
  return (config.auth?.apiKeys.length ?? 0) > 0 || config.auth?.jwt !== undefined;
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}
