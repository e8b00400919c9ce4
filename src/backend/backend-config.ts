import type { BackendSchemaType } from '../config/schema.js';

/*
 * What a backend is built from. Both types are derived from the config schema (src/config/schema.ts), so
 * a field added there reaches every backend's constructor with its type, and no copy can drift.
 */

/** One backend as the validated config describes it (schema defaults applied), with its name. */
export type BackendConfig = BackendSchemaType & {
  /** The key of the backend in `backends`. */
  name: string;
};

/** Pool settings shared by every driver. */
export type PoolConfig = BackendConfig['pool'];
