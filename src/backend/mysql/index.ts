// Placeholder until the mysql backend lands (issue 3): refuses to start rather than pretending.
import { SqlgateError } from '../../errors.js';
import type { BackendConfig } from '../create-backend.js';
import type { StorageBackend } from '../storage-backend.js';

export const MysqlBackend: new (config: BackendConfig) => StorageBackend = class {
  constructor(config: BackendConfig) {
    throw new SqlgateError(
      'UNSUPPORTED_FEATURE',
      `the mysql driver is not available yet (backend "${config.name}")`,
    );
  }
} as never;
