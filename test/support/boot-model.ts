/**
 * Classifies a simulated device by what TF-M's first boot would do with it: the final judge of a
 * provisioning run. A run is only good if the device boots to SECURED and attests with the key the
 * run reported; anything else is "rejected", with the boot model's own reason.
 *
 * The boot runs on a clone, so classifying never changes the device under test (the boot model
 * moves the lifecycle to SECURED and locks APPROTECT, which would make any later re-run meaningless).
 */

import type { TfmBootOutcome } from '../../lib/provision/types';

/** What the simulator's TF-M first-boot model reports (lib/sim, issue 3); the library's own type. */
export type { TfmBootOutcome };

/** The part of a simulated device the classifier needs. */
export interface BootableDevice {
  clone(): BootableDevice;
  bootTfm(request?: { challenge?: Uint8Array }): TfmBootOutcome | Promise<TfmBootOutcome>;
}

/** What a provisioning run claimed about the device, to hold against the boot. */
export interface ReportedIdentity {
  identityPublicKey?: string;
  instanceId?: string;
}

export type BootVerdict =
  /** TF-M boots to SECURED (and, when the run reported a key, attests with that key). */
  | 'boots'
  /** TF-M refuses to boot (wrong lifecycle, missing or unwrappable keys, ...). */
  | 'rejected'
  /** TF-M boots, but with an identity key other than the one the run reported: the device
   *  registry would hold the wrong public key, which is as bad as a device that does not boot. */
  | 'wrong-identity';

export interface BootClassification {
  verdict: BootVerdict;
  /** Lifecycle the boot model ended in (SECURED on success). */
  lifecycle: string;
  /** The boot model's error code when it refused. */
  errorCode?: string;
  reason: string;
  identityPublicKey?: string;
  instanceId?: string;
}

function normaliseHex(value: string | undefined): string | undefined {
  return value?.replace(/^0x/i, '').toLowerCase();
}

export async function classifyBoot(device: BootableDevice, reported?: ReportedIdentity): Promise<BootClassification> {
  // After the boot, one attestation request: a badly wrapped identity key boots (as on silicon) and
  // fails only there.
  const outcome = await device.clone().bootTfm({ challenge: Buffer.alloc(32, 0x5a) });
  const base = {
    lifecycle: outcome.lifecycle,
    errorCode: outcome.errorCode,
    identityPublicKey: outcome.identityPublicKey,
    instanceId: outcome.instanceId,
  };
  if (!outcome.ok) {
    return { ...base, verdict: 'rejected', reason: outcome.message ?? outcome.errorCode ?? 'boot model refused' };
  }
  if (String(outcome.lifecycle).toUpperCase() !== 'SECURED') {
    // A boot that "succeeds" without reaching SECURED did not run TF-M's provisioning step.
    return { ...base, verdict: 'rejected', reason: `boot ended in ${outcome.lifecycle}, not SECURED` };
  }
  if (outcome.attestation !== undefined && !outcome.attestation.ok) {
    return { ...base, verdict: 'rejected', errorCode: outcome.attestation.errorCode ?? 'TFM_ATTESTATION_FAILED', reason: `booted to SECURED but attestation failed: ${outcome.attestation.message ?? ''}` };
  }
  const reportedKey = normaliseHex(reported?.identityPublicKey);
  if (reportedKey !== undefined && reportedKey !== normaliseHex(outcome.identityPublicKey)) {
    return { ...base, verdict: 'wrong-identity', reason: 'TF-M attests with a different identity key than the run reported' };
  }
  const reportedInstance = normaliseHex(reported?.instanceId);
  if (reportedInstance !== undefined && reportedInstance !== normaliseHex(outcome.instanceId)) {
    return { ...base, verdict: 'wrong-identity', reason: 'TF-M reports a different instance ID than the run reported' };
  }
  return { ...base, verdict: 'boots', reason: outcome.message ?? 'booted to SECURED' };
}
