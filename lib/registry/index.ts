/** The device registry (docs/registry.md): the Registry contract, its PostgreSQL implementation, migrations. */
import { TfmError } from '../errors';
import { PgRegistry, type PgRegistryOptions } from './pg';
import type { Registry } from './types';

export * from './types';
export { PgRegistry, stationIdentity, type PgRegistryOptions } from './pg';
export { MIGRATIONS, STATION_ROLE, ADMIN_ROLE, REGISTRY_SCHEMA, type Migration } from './migrations';
export { RegistryAttempt, completionOf, type RegistryAttemptOptions } from './attempt';
export { REGISTRY_ENV, LOT_ENV, redactUrl, redactSecrets, parseRegistryUrl } from './url';

/** The `registry` option: a URL opens a PgRegistry (the caller closes it: `owned`), an object is used as it is. */
export function openRegistry(option: string | Registry, options: PgRegistryOptions = {}): { registry: Registry; owned: boolean } {
  if (typeof option === 'string') return { registry: new PgRegistry(option, options), owned: true };
  if (option === null || typeof option !== 'object' || typeof (option as Registry).reserve !== 'function') {
    throw new TfmError('INVALID_PARAMETER', 'The registry option takes a postgresql:// URL or an object implementing Registry.');
  }
  return { registry: option, owned: false };
}
