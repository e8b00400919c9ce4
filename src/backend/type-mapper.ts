import type { GenericType } from './types.js';

/**
 * Native column type <-> GenericType for one database. Implementations are written as total maps
 * (`Record<GenericType, string>` for DDL), never with a `default:` that hides a missing case.
 */
export interface TypeMapper {
  /** The generic type of a result column from the driver's description of it (OID, MySQL type, declared type). */
  toGeneric(native: string): GenericType;
  /** The DDL type name that stores a generic type without loss on this database. */
  readonly ddl: Readonly<Record<GenericType, string>>;
}
