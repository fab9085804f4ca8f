/** The `registry` option of the station and provisionWithRegistry: a URL or a Registry object. */
import { TfmError } from '../errors';
import { PgRegistry, type PgRegistryOptions } from './pg';
import type { Registry } from './types';

/** The `registry` option: a URL opens a PgRegistry (the caller closes it: `owned`), an object is used as it is. */
export function openRegistry(option: string | Registry, options: PgRegistryOptions = {}): { registry: Registry; owned: boolean } {
  if (typeof option === 'string') return { registry: new PgRegistry(option, options), owned: true };
  if (option === null || typeof option !== 'object' || typeof (option as Registry).reserve !== 'function') {
    throw new TfmError('INVALID_PARAMETER', 'The registry option takes a postgresql:// URL or an object implementing Registry.');
  }
  return { registry: option, owned: false };
}
