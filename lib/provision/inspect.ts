/** A read-only report of a device's provisioning state: preflight plus the decision provision() would make. */
import type { ProbeSession } from '../probe/types';
import type { ChipName } from '../targets';
import { countOperations } from '../device/counting-session';
import { hex32 } from '../bytes';
import { PSA_LIFECYCLE, type LifecycleState } from '../device/lifecycle';
import type { KmuValueState } from '../device/kmu';
import { decide, type DecideOptions } from './decide';
import { preflight, restoreNetworkCoreHold, type PreflightOptions, type PreflightWarning } from './preflight';
import type { ComponentName, ComponentState } from './types';
import type { ErrorCode } from '../errors';

export interface DeviceReport {
  chip: ChipName;
  displayName: string;
  part: string;
  variant?: string;
  deviceId: string;
  simulated: boolean;
  backend: string;
  lifecycle: {
    state: LifecycleState;
    /** TF-M's TFM_SLC_* value, when the state is valid. */
    psa?: string;
    halfwords: { provisioning: string; secure: string; reserved: string; decommissioned: string };
  };
  protection: { approtect: string; approtectOpen: boolean; secureApprotect: string; secureApprotectOpen: boolean; eraseProtect: string; eraseProtected: boolean };
  implementationId: { value: string; state: string };
  kmuSlots: Array<{ index: number; role: 'mkek' | 'mext' | 'identityKey' | 'other'; dest: string; perm: string; value: KmuValueState; empty: boolean }>;
  networkCore?: { wasForcedOff: boolean; accessible: boolean; approtect?: string; locked: boolean };
  components: Record<ComponentName, ComponentState>;
  /** What `provision` would do with this device and the same options. */
  decision: { action: 'provision' | 'alreadyProvisioned' | 'refuse'; errorCode?: ErrorCode; message?: string; present: ComponentName[]; missing: ComponentName[] };
  warnings: PreflightWarning[];
  operations: number;
}

const half = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Read-only (no non-volatile write). Throws TfmError when the device cannot be identified or read.
 * On nRF5340 the network core is released to read it and held off again afterwards, as found.
 */
export async function inspect(session: ProbeSession, options: PreflightOptions & DecideOptions = {}): Promise<DeviceReport> {
  const counting = countOperations(session);
  const p = await preflight(counting.session, options);
  await restoreNetworkCoreHold(counting.session, p);
  const decision = decide(p, options);
  const { target } = p;
  const role = (index: number): DeviceReport['kmuSlots'][number]['role'] =>
    target.huk.mkek.some((s) => s.index === index) ? 'mkek' : target.huk.mext.some((s) => s.index === index) ? 'mext' : target.identityKey.slots.some((s) => s.index === index) ? 'identityKey' : 'other';
  return {
    chip: p.chip,
    displayName: target.displayName,
    part: `0x${p.part.toString(16).toUpperCase()}`,
    variant: p.variant,
    deviceId: p.deviceId,
    simulated: p.simulated,
    backend: p.backend,
    lifecycle: {
      state: p.lifecycle.state,
      psa: p.lifecycle.state === 'INVALID' ? undefined : `0x${PSA_LIFECYCLE[p.lifecycle.state].toString(16)}`,
      halfwords: { provisioning: half(p.lifecycle.provisioning), secure: half(p.lifecycle.secure), reserved: half(p.lifecycle.reserved), decommissioned: half(p.lifecycle.decommissioned) },
    },
    protection: {
      approtect: hex32(p.protection.approtect),
      approtectOpen: p.protection.approtectOpen,
      secureApprotect: hex32(p.protection.secureApprotect),
      secureApprotectOpen: p.protection.secureApprotectOpen,
      eraseProtect: hex32(p.protection.eraseProtect),
      eraseProtected: p.protection.eraseProtected,
    },
    implementationId: { value: p.implementationId, state: p.implementationIdState },
    kmuSlots: p.slots.map((s) => ({ index: s.index, role: role(s.index), dest: hex32(s.dest), perm: hex32(s.perm), value: s.value, empty: s.empty })),
    networkCore: p.networkCore && {
      wasForcedOff: p.networkCore.wasForcedOff,
      accessible: p.networkCore.accessible,
      approtect: p.networkCore.approtect === undefined ? undefined : hex32(p.networkCore.approtect),
      locked: p.networkCore.locked,
    },
    components: p.components,
    decision: { action: decision.action, errorCode: decision.error?.code, message: decision.error?.message, present: decision.present, missing: decision.missing },
    warnings: p.warnings,
    operations: counting.count().operations,
  };
}
