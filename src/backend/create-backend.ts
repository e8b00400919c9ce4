import { SqlgateError } from '../errors.js';
import type { BackendConfig } from './backend-config.js';
import { type DriverName, READ_REPLICA_DRIVERS } from './drivers.js';
import type { StorageBackend } from './storage-backend.js';

/**
 * Driver name -> backend. Each database folder is imported on demand, so a deployment that uses only
 * SQLite never loads pg or mysql2. The switch is exhaustive over DriverName.
 */
export async function createBackend(config: BackendConfig): Promise<StorageBackend> {
  const driver: DriverName = config.driver;
  if (config.replicas?.length && !READ_REPLICA_DRIVERS.includes(driver)) {
    throw new SqlgateError(
      'BAD_REQUEST',
      `backend "${config.name}": "replicas" is supported for ${READ_REPLICA_DRIVERS.join(', ')} only`,
    );
  }
  switch (driver) {
    case 'sqlite': {
      const { SqliteBackend } = await import('./sqlite/index.js');
      return new SqliteBackend(config);
    }
    case 'postgres': {
      const { PostgresBackend } = await import('./postgres/index.js');
      return new PostgresBackend(config);
    }
    case 'mysql': {
      const { MysqlBackend } = await import('./mysql/index.js');
      return new MysqlBackend(config);
    }
    default: {
      const never: never = driver;
      throw new SqlgateError('BAD_REQUEST', `unknown driver ${String(never)}`);
    }
  }
}
