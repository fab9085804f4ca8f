/**
 * Decide from what is on the chip, never from memory: a full plan on a clean ASSEMBLY device,
 * nothing on a complete one, and a refusal (nothing written) for everything else, because a host
 * cannot finish a run whose keys it no longer has.
 */
import { TfmError } from '../errors';
import { hex32 } from '../bytes';
import { describeLifecycle } from '../device/lifecycle';
import type { Preflight } from './preflight';
import type { ComponentName, ComponentState } from './types';

export type DecisionAction = 'provision' | 'alreadyProvisioned' | 'refuse';

export interface Decision {
  action: DecisionAction;
  /** Set when action is 'refuse'. */
  error?: TfmError;
  present: ComponentName[];
  missing: ComponentName[];
  /** On 'provision': parts already in place that the plan leaves out. */
  writeImplementationId: boolean;
  writeNetworkCore: boolean;
  /**
   * On 'provision': finish a run that stopped after its keys. The lifecycle is PROVISIONING and
   * every key is in place as provisioning writes it; only steps that need no key are left (the
   * implementation ID, the network-core lock), so they are written and nothing else.
   */
  finishOnly?: boolean;
}

const KEY_COMPONENTS: ComponentName[] = ['mkek', 'mext', 'identityKey'];

function lists(components: Record<ComponentName, ComponentState>): { present: ComponentName[]; missing: ComponentName[] } {
  const entries = Object.entries(components) as [ComponentName, ComponentState][];
  return {
    present: entries.filter(([, s]) => s === 'present').map(([n]) => n),
    missing: entries.filter(([, s]) => s !== 'present' && s !== 'notApplicable').map(([n]) => n),
  };
}

function recoveryHint(p: Preflight): string {
  return p.protection.eraseProtected
    ? 'Recovery needs an erase-all, which UICR.ERASEPROTECT blocks on this device: only the firmware that set it can lift it.'
    : 'Recovery: `tfm-provision recover` (an erase-all through the CTRL-AP, which erases flash and UICR including the lifecycle and every KMU key), then provision again.';
}

export interface DecideOptions {
  /** Provision a device with UICR.ERASEPROTECT set (whose interrupted run can never be recovered). */
  allowEraseProtected?: boolean;
}

/** With ERASEPROTECT set, an interrupted run leaves a device no erase-all can recover: opt-in only. */
function eraseProtectedError(p: Preflight, details: Record<string, unknown>): TfmError {
  return new TfmError(
    'ERASE_PROTECTED',
    `UICR.ERASEPROTECT is set (${hex32(p.protection.eraseProtect)}): erase-all is blocked on this device, so a provisioning run interrupted half way (power, probe, cable) could never be recovered. Nothing was written to non-volatile memory. Provision it anyway only with allowEraseProtected (--allow-erase-protected), on a fixture you trust.`,
    { details: { ...details, eraseProtect: hex32(p.protection.eraseProtect) } },
  );
}

export function decide(p: Preflight, options: DecideOptions = {}): Decision {
  const { present, missing } = lists(p.components);
  const base = { present, missing, writeImplementationId: false, writeNetworkCore: false };
  const details = { lifecycle: p.lifecycle.state, components: p.components, present, missing };
  const refuse = (error: TfmError): Decision => ({ ...base, action: 'refuse', error });
  const state = p.lifecycle.state;
  const lcs = describeLifecycle(p.lifecycle);

  if (state === 'INVALID') {
    return refuse(
      new TfmError('LIFECYCLE_INVALID', `The lifecycle halfwords are not a valid bl_storage encoding: ${lcs}. TF-M will not boot this device. ${recoveryHint(p)}`, {
        details: { ...details, recovery: 'eraseAll' },
      }),
    );
  }
  if (state === 'DECOMMISSIONED') {
    return refuse(new TfmError('LIFECYCLE_DECOMMISSIONED', 'The device is DECOMMISSIONED; it cannot be provisioned again.', { details }));
  }

  const c = p.components;
  const keysTouched = KEY_COMPONENTS.some((k) => c[k] !== 'absent' && c[k] !== 'notApplicable');
  if (state === 'ASSEMBLY') {
    if (keysTouched) {
      const foreign = KEY_COMPONENTS.filter((k) => c[k] === 'foreign');
      const slots = p.slots.filter((s) => !s.empty).map((s) => s.index);
      if (foreign.length > 0) {
        return refuse(
          new TfmError('KMU_SLOT_NOT_EMPTY', `KMU slot(s) ${slots.join(', ')} already hold keys with other permissions or destinations than provisioning writes (${foreign.join(', ')}). Nothing was written to non-volatile memory. ${recoveryHint(p)}`, {
            details: { ...details, slots, recovery: 'eraseAll' },
          }),
        );
      }
      return refuse(
        new TfmError('PARTIALLY_PROVISIONED', `The lifecycle is still ASSEMBLY but KMU slot(s) ${slots.join(', ')} are written (present: ${present.join(', ') || 'none'}; missing: ${missing.join(', ')}). An earlier run was interrupted, or firmware wrote its own keys. Nothing was written to non-volatile memory. ${recoveryHint(p)}`, {
          details: { ...details, slots, recovery: 'eraseAll' },
        }),
      );
    }
    if (c.implementationId === 'foreign' || c.implementationId === 'partial') {
      return refuse(
        new TfmError('IMPLEMENTATION_ID_CONFLICT', `The implementation ID on the device (${p.implementationId}) is neither erased nor the one requested; OTP words cannot be rewritten. Pass the implementation ID the device holds, or recover with an erase-all.`, {
          details: { ...details, onDevice: p.implementationId },
        }),
      );
    }
    if (p.protection.eraseProtected && options.allowEraseProtected !== true) return refuse(eraseProtectedError(p, details));
    return { ...base, action: 'provision', writeImplementationId: c.implementationId === 'absent', writeNetworkCore: c.networkCoreApprotect === 'absent' };
  }

  // PROVISIONING or SECURED: complete (and then nothing to do) or not.
  if (missing.length === 0) return { ...base, action: 'alreadyProvisioned' };
  // PROVISIONING with every key in place: what is left needs no key (an interrupted run's last
  // steps), so it is finished rather than sent to an erase-all.
  const keysInPlace = c.lifecycle === 'present' && KEY_COMPONENTS.every((k) => c[k] === 'present' || c[k] === 'notApplicable');
  const finishable = missing.every((m) => (m === 'implementationId' || m === 'networkCoreApprotect') && c[m] === 'absent');
  if (state === 'PROVISIONING' && keysInPlace && finishable) {
    if (p.protection.eraseProtected && options.allowEraseProtected !== true) return refuse(eraseProtectedError(p, details));
    return { ...base, action: 'provision', finishOnly: true, writeImplementationId: c.implementationId === 'absent', writeNetworkCore: c.networkCoreApprotect === 'absent' };
  }
  if (c.implementationId === 'foreign' && missing.length === 1) {
    return refuse(
      new TfmError('IMPLEMENTATION_ID_CONFLICT', `The device is provisioned with another implementation ID (${p.implementationId}) than the one requested.`, {
        details: { ...details, onDevice: p.implementationId },
      }),
    );
  }
  if (state === 'SECURED') {
    return refuse(
      new TfmError('LIFECYCLE_SECURED', `The device is SECURED but incomplete (missing: ${missing.join(', ')}); a secured device is never written again.`, { details }),
    );
  }
  return refuse(
    new TfmError('PARTIALLY_PROVISIONED', `The lifecycle is PROVISIONING but provisioning is incomplete (present: ${present.join(', ') || 'none'}; missing: ${missing.join(', ')}). The keys of the interrupted run are gone, so it cannot be finished. Nothing was written to non-volatile memory. ${recoveryHint(p)}`, {
      details: { ...details, recovery: 'eraseAll' },
    }),
  );
}
