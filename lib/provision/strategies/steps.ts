/** Write steps both strategies make the same way (each write read back before the step ends). */
import { TfmError } from '../../errors';
import { NETWORK_APPROTECT_PROTECTED, lockNetworkCore, type NetworkCoreReading } from '../../device/network-core';
import type { RunContext, StepControl } from '../strategy';
import type { StepName } from '../types';

/**
 * A step that writes, or is skipped with `skipReason` as its detail when its write is not needed.
 * A step that writes honours a pending abort first, and marks the run as after-write before it
 * starts: the device may have changed even if the write call fails.
 */
export function writeStep(context: RunContext, name: StepName, skipReason: string | undefined, body: (control: StepControl) => Promise<void>): Promise<void> {
  return context.step(name, async (control) => {
    if (skipReason !== undefined) {
      control.skipped = true;
      control.detail = skipReason;
      return;
    }
    context.checkAbort();
    context.markAfterWrite();
    await body(control);
  });
}

/** The network-core step: skipped when the core is already locked; otherwise `lock` does it. */
export function networkCoreStep(context: RunContext, lock: (control: StepControl) => Promise<void>): Promise<void> {
  return writeStep(context, 'networkCore', context.decision.writeNetworkCore ? undefined : 'already locked', async (control) => {
    context.markNetworkCoreLock();
    await lock(control);
  });
}

/**
 * The host's own write of the network core's UICR.APPROTECT = 0, read back (the core released and
 * halted; `halted: true` when this session halted it and nothing ran it since). Returns the
 * network core as the read-back found it (FORCEOFF released, APPROTECT 0).
 */
export async function lockNetworkCoreByHost(context: RunContext, options: { halted?: boolean } = {}): Promise<NetworkCoreReading> {
  if (!(await lockNetworkCore(context.probe, context.preflight.target, options))) {
    throw new TfmError('VERIFY_FAILED', "The network core's UICR.APPROTECT did not read back as 0.", { afterWrite: true });
  }
  return { wasForcedOff: false, accessible: true, approtect: NETWORK_APPROTECT_PROTECTED, locked: true };
}
