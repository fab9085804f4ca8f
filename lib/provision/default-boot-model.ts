/** The boot model provision() and verify() use when the caller gives none. */
import type { ProbeSession } from '../probe/types';
import type { BootModel, TfmBootOutcome } from './types';

/**
 * A simulated session's own TF-M boot model when the caller gives none: a simulated device is
 * checked the way TF-M would take it, with no wiring (a caller's bootModel replaces it).
 */
export function withDefaultBootModel<T extends { bootModel?: BootModel }>(session: ProbeSession, options: T): T {
  if (options.bootModel !== undefined || typeof session.tfmFirstBoot !== 'function') return options;
  const boot = session.tfmFirstBoot.bind(session);
  return { ...options, bootModel: (request) => boot(request) as TfmBootOutcome };
}
