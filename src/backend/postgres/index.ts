// Placeholder until the postgres backend lands (issue 3): refuses to start rather than pretending.
import { SqlgateError } from '../../errors.js';
import type { BackendConfig } from '../create-backend.js';
import type { StorageBackend } from '../storage-backend.js';

export const PostgresBackend: new (config: BackendConfig) => StorageBackend = class {
  constructor(config: BackendConfig) {
    throw new SqlgateError(
      'UNSUPPORTED_FEATURE',
      `the postgres driver is not available yet (backend "${config.name}")`,
    );
  }
} as never;
