/** The database drivers a backend can use; the config schema and the factory both take them from here. */
export const DRIVERS = ['postgres', 'mysql', 'sqlite'] as const;
export type DriverName = (typeof DRIVERS)[number];

/** The drivers whose backend implements read replicas (`replicas` in the config). */
export const READ_REPLICA_DRIVERS: readonly DriverName[] = ['postgres'];
