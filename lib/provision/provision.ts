/**
 * The library's entry to provisioning: provision() resolves with a ProvisionResult for every outcome;
 * provisionOrThrow() is its throwing variant. One run (run.ts) with the host or the image strategy
 * (strategies/), chosen by options.strategy.
 */
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { ProvisioningRun } from './run';
import type { ProvisionOptions, ProvisionResult } from './types';
import { withDefaultBootModel } from './default-boot-model';

/**
 * Provisions the device on `session` (host strategy unless options.strategy is 'image'). Resolves
 * with a ProvisionResult for every outcome; see ProvisionResult for how to read it. The session
 * stays open.
 */
export async function provision(session: ProbeSession, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  return new ProvisioningRun(session, withDefaultBootModel(session, options)).run();
}


/** The throwing variant: resolves only when ok, else throws a TfmError with the result's code. */
export async function provisionOrThrow(session: ProbeSession, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  const result = await provision(session, options);
  if (!result.ok) {
    const e = result.error;
    throw new TfmError(e?.code ?? 'INTERNAL_ERROR', e?.message ?? 'Provisioning failed.', { afterWrite: result.afterWrite, details: { ...(e?.details ?? {}), result } });
  }
  return result;
}
