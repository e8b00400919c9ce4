import { SqlgateError } from '../errors.js';
import type { StorageBackend } from './storage-backend.js';

/** Every configured backend by name, created at start and closed with the app. */
export class BackendRegistry {
  constructor(
    private readonly byName: Map<string, StorageBackend>,
    readonly defaultName: string,
  ) {}

  /** The named backend (or the default); BACKEND_NOT_FOUND otherwise. */
  get(name: string | undefined): StorageBackend {
    const backend = this.byName.get(name ?? this.defaultName);
    if (!backend) throw new SqlgateError('BACKEND_NOT_FOUND', `no backend named "${name}" is configured`);
    return backend;
  }

  /** Every backend, in configuration order. */
  all(): StorageBackend[] {
    return [...this.byName.values()];
  }
}
