/** The device registry (docs/registry.md): the Registry contract, its PostgreSQL implementation, migrations. */

export * from './types';
export { openRegistry } from './open';
export { PgRegistry, stationIdentity, type PgRegistryOptions } from './pg';
export { MIGRATIONS, STATION_ROLE, ADMIN_ROLE, REGISTRY_SCHEMA, type Migration } from './migrations';
export { provisionWithRegistry, type ProvisionWithRegistryOptions, type RegistryRunResult } from './provision';
export { RegistryAttempt, completionOf, type RegistryAttemptOptions } from './attempt';
export { REGISTRY_ENV, LOT_ENV, redactUrl, redactSecrets, parseRegistryUrl } from './url';

