/**
 * Preflight: everything provisioning needs to know, read from the device with no non-volatile
 * write. It halts the application core before reading anything running firmware could change
 * (readDeviceState). Register writes it makes: KMU slot selection (to read the slots; deselected
 * after each), and on nRF5340 releasing RESET.NETWORK.FORCEOFF so AP1 answers, with the network
 * core halted in the very next transaction so its firmware cannot run. Whoever calls preflight()
 * and does not go on to lock the network core puts FORCEOFF back with restoreNetworkCoreHold()
 * (provision, inspect and verify do). Strategy-agnostic: both strategies decide from it.
 */
import { ProbeError, TfmError } from '../errors';
import type { BackendName, ProbeOperation, ProbeSession } from '../probe/types';
import { ERASED_WORD, defaultImplementationId, type ChipName, type KmuSlotSpec, type Target } from '../targets';
import { identifyChip, type ChipIdentity } from '../device/ficr';
import { decodeKmuSlotReads, deselectOperation, kmuSlotReadOperations, type KmuSlotReading } from '../device/kmu';
import { runOperations, runScopedOperations } from '../device/batch';
import type { LifecycleReading } from '../device/lifecycle';
import { holdNetworkCore, readNetworkCore, type NetworkCoreReading } from '../device/network-core';
import { applicationUicrOperation, compareImplementationId, decodeApplicationUicr, type ImplementationIdState, type ProtectionReading } from '../device/uicr';
import { hex32, toHex } from '../bytes';
import type { WarningCode } from './events';
import type { ComponentName, ComponentState } from './types';

export interface PreflightOptions {
  chip?: ChipName;
  identityKey?: 'generate' | 'skip';
  /** The implementation ID the caller wants (default AA..DD), to classify what is on the device. */
  implementationId?: Uint8Array;
}

export interface PreflightWarning {
  code: WarningCode;
  message: string;
}

export interface Preflight {
  chip: ChipName;
  target: Target;
  part: number;
  variant?: string;
  /** Hex of FICR DEVICEID[0..1] as 8 little-endian bytes. */
  deviceId: string;
  /** The same 8 bytes (public; the wrapping model's context). */
  deviceIdBytes: Uint8Array;
  simulated: boolean;
  backend: BackendName;
  lifecycle: LifecycleReading;
  protection: ProtectionReading;
  /** Hex of the 32 bytes on the device. */
  implementationId: string;
  implementationIdState: ImplementationIdState;
  slots: KmuSlotReading[];
  networkCore?: NetworkCoreReading;
  /** nRF5340: erratum 161 applies (from the FICR identification read). */
  erratum161?: boolean;
  components: Record<ComponentName, ComponentState>;
  /** KMU slots in 2..7 that provisioning does not use but that hold something (nRF91 slots 3 and 5). */
  otherSlotsInUse: number[];
  warnings: PreflightWarning[];
}

/** Slot indices read by preflight: 2..7 (what the sample and TF-M use), plus any the target names. */
export function preflightSlotIndices(target: Target): number[] {
  const ours = [...target.huk.mkek, ...target.huk.mext, ...target.identityKey.slots].map((s) => s.index);
  return [...new Set([2, 3, 4, 5, 6, 7, ...ours])].sort((a, b) => a - b);
}

export function protectedDeviceError(error: unknown): TfmError | undefined {
  if ((error instanceof ProbeError || error instanceof TfmError) && error.code === 'DEVICE_PROTECTED') {
    return new TfmError(
      'DEVICE_PROTECTED',
      'The debug port is protected (APPROTECT): the device cannot be read, and nothing was written to non-volatile memory. A device that TF-M has already secured is locked like this; otherwise recover it with an erase-all (which also erases the lifecycle and all KMU keys) and provision again.',
      { cause: error, vendorCode: error.vendorCode, operation: error.operation },
    );
  }
  return undefined;
}

function slotState(spec: KmuSlotSpec, reading: KmuSlotReading, identity: boolean): ComponentState {
  if (reading.empty) return 'absent';
  const permErased = reading.perm === ERASED_WORD;
  if (!permErased && reading.perm !== spec.perm) return 'foreign';
  // The identity key's DEST is the wrapper's business (the model leaves it erased); a HUK's DEST must match.
  if (!identity && reading.dest !== ERASED_WORD && reading.dest !== spec.dest) return 'foreign';
  if (permErased) return 'partial'; // DEST or VALUE written, PERM not yet: a slot write cut short
  if (identity) return reading.value === 'written' ? 'present' : 'partial';
  return reading.dest === spec.dest ? 'present' : 'partial';
}

/** Combines per-slot states of one key: all absent, all present, else the worst. */
export function combineStates(states: ComponentState[]): ComponentState {
  if (states.every((s) => s === 'absent')) return 'absent';
  if (states.every((s) => s === 'present')) return 'present';
  return states.includes('foreign') ? 'foreign' : 'partial';
}

export function assessSlots(specs: readonly KmuSlotSpec[], slots: readonly KmuSlotReading[], identity: boolean): ComponentState {
  return combineStates(
    specs.map((spec) => {
      const reading = slots.find((s) => s.index === spec.index);
      if (!reading) throw new TfmError('INTERNAL_ERROR', `KMU slot ${spec.index} was not read.`);
      return slotState(spec, reading, identity);
    }),
  );
}

export interface DeviceStateOptions {
  /** Slots whose VALUE must equal these 16 bytes (verification). */
  expectedValues?: ReadonlyMap<number, Uint8Array>;
  slotIndices?: number[];
  /** false: leave the nRF5340 network core alone (not released, not read). Default true. */
  networkCore?: boolean;
  /** The application core was halted in this session and nothing has run it since: no second halt. */
  halted?: boolean;
  /** ChipIdentity.erratum161 (from the FICR block identification read), so the release reads no FICR. */
  erratum161?: boolean;
  /**
   * Readings this run already holds and that nothing can have changed since (the host strategy's
   * write read-backs: docs/performance.md says why): those slots and the network core are not read
   * again. Slots not listed here are read.
   */
  known?: { slots?: readonly KmuSlotReading[]; networkCore?: NetworkCoreReading };
}

export interface DeviceState {
  lifecycle: LifecycleReading;
  protection: ProtectionReading;
  implementationIdBytes: Uint8Array;
  slots: KmuSlotReading[];
  networkCore?: NetworkCoreReading;
}

/**
 * The reads shared by preflight and verify (the chip is already identified). The application core
 * is halted first: running firmware shares SELECTKEYSLOT and NVMC.CONFIG with the debugger and can
 * write the lifecycle and the KMU itself (the provisioning image does), so what is read must not
 * change under the reader, and the CPU must be halted before the debugger drives the NVMC
 * (device-facts 5.3). A halt is no non-volatile write; the core stays halted (a reset starts it).
 */
export async function readDeviceState(session: ProbeSession, target: Target, options: DeviceStateOptions = {}): Promise<DeviceState> {
  const known = new Map((options.known?.slots ?? []).map((s) => [s.index, s]));
  const indices = options.slotIndices ?? preflightSlotIndices(target);
  const toRead = indices.filter((i) => !known.has(i));
  // One batch: [halt], the UICR head, then the slots under one selection (readKmuSlots' rules:
  // a failure among the slots still clears the selection; one before them has nothing to clear).
  const head: ProbeOperation[] = options.halted ? [] : [{ op: 'halt' }];
  head.push(applicationUicrOperation(target));
  const slotsFrom = head.length;
  const operations = toRead.length > 0 ? [...head, ...kmuSlotReadOperations(target, toRead, slotsFrom), deselectOperation(target)] : head;
  const result =
    toRead.length > 0 ? await runScopedOperations(session, operations, (r) => r.error, { leaveFrom: slotsFrom }) : await runOperations(session, operations);
  if (result.stoppedAt !== undefined) throw result.error;
  let uicr: ReturnType<typeof decodeApplicationUicr>;
  let read: KmuSlotReading[];
  try {
    uicr = decodeApplicationUicr(target, result.results[slotsFrom - 1] as Uint8Array);
    read = decodeKmuSlotReads(target, toRead, result, slotsFrom, options.expectedValues);
  } finally {
    result.wipe();
  }
  const slots: KmuSlotReading[] = indices.map((i) => known.get(i) ?? read.find((s) => s.index === i)!);
  const networkCore =
    target.network && options.networkCore !== false ? (options.known?.networkCore ?? (await readNetworkCore(session, target, { erratum161: options.erratum161 }))) : undefined;
  return { lifecycle: uicr.lifecycle, protection: uicr.protection, implementationIdBytes: uicr.implementationId, slots, networkCore };
}

export function assessComponents(
  target: Target,
  state: DeviceState,
  implementationIdState: ImplementationIdState,
  identityKey: 'generate' | 'skip',
): Record<ComponentName, ComponentState> {
  const lifecycle: ComponentState =
    state.lifecycle.state === 'ASSEMBLY' ? 'absent' : state.lifecycle.state === 'PROVISIONING' || state.lifecycle.state === 'SECURED' ? 'present' : 'foreign';
  const identitySlots = assessSlots(target.identityKey.slots, state.slots, true);
  return {
    lifecycle,
    mkek: assessSlots(target.huk.mkek, state.slots, false),
    mext: assessSlots(target.huk.mext, state.slots, false),
    // With 'skip', slots 6/7 are not ours to judge unless something is in them.
    identityKey: identityKey === 'skip' && identitySlots === 'absent' ? 'notApplicable' : identitySlots,
    implementationId: implementationIdState === 'equal' ? 'present' : implementationIdState === 'erased' ? 'absent' : implementationIdState === 'partial' ? 'partial' : 'foreign',
    networkCoreApprotect: !state.networkCore ? 'notApplicable' : state.networkCore.locked ? 'present' : 'absent',
  };
}

export async function identify(session: ProbeSession, chip?: ChipName): Promise<ChipIdentity> {
  try {
    return await identifyChip(session, chip);
  } catch (error) {
    throw protectedDeviceError(error) ?? error;
  }
}

/**
 * Puts RESET.NETWORK.FORCEOFF back to 1 when the reading released it (wasForcedOff): the network
 * core is held off again, as it was found. No-op on nRF91 and when FORCEOFF was already released.
 */
export async function restoreNetworkCoreHold(session: ProbeSession, state: { target: Target; networkCore?: NetworkCoreReading }): Promise<void> {
  if (state.target.network && state.networkCore?.wasForcedOff) await holdNetworkCore(session, state.target);
}

/**
 * Preflight without non-volatile writes (see the file comment for the register writes). Throws
 * TfmError (UNKNOWN_DEVICE, CHIP_MISMATCH, DEVICE_PROTECTED, probe errors).
 */
export async function preflight(session: ProbeSession, options: PreflightOptions = {}): Promise<Preflight> {
  const identity = await identify(session, options.chip);
  const { target } = identity;
  let state: DeviceState;
  try {
    state = await readDeviceState(session, target, { erratum161: identity.erratum161 });
  } catch (error) {
    throw protectedDeviceError(error) ?? error;
  }
  const wanted = options.implementationId ?? defaultImplementationId();
  const implementationIdState = compareImplementationId(state.implementationIdBytes, wanted);
  const components = assessComponents(target, state, implementationIdState, options.identityKey ?? 'generate');
  const ours = new Set([...target.huk.mkek, ...target.huk.mext, ...target.identityKey.slots].map((s) => s.index));
  const otherSlotsInUse = state.slots.filter((s) => !ours.has(s.index) && !s.empty).map((s) => s.index);

  const warnings: PreflightWarning[] = [];
  if (state.protection.eraseProtected) {
    warnings.push({
      code: 'ERASE_PROTECT_ENABLED',
      message: `UICR.ERASEPROTECT is set (${hex32(state.protection.eraseProtect)}): an erase-all, the only recovery from an interrupted provisioning, is blocked on this device.`,
    });
  }
  if (otherSlotsInUse.length > 0) {
    warnings.push({ code: 'OTHER_KMU_SLOT_IN_USE', message: `KMU slot(s) ${otherSlotsInUse.join(', ')} hold data that provisioning does not write; left as they are.` });
  }
  if (state.networkCore && !state.networkCore.accessible) {
    warnings.push({ code: 'NETWORK_CORE_NOT_READABLE', message: "The network core's debug port is locked; its UICR.APPROTECT is taken as already set." });
  }
  return {
    chip: identity.chip,
    target,
    part: identity.part,
    variant: identity.variant,
    deviceId: identity.deviceIdHex,
    deviceIdBytes: identity.deviceId,
    simulated: session.simulated,
    backend: session.backend,
    lifecycle: state.lifecycle,
    protection: state.protection,
    implementationId: toHex(state.implementationIdBytes),
    implementationIdState,
    slots: state.slots,
    networkCore: state.networkCore,
    erratum161: identity.erratum161,
    components,
    otherSlotsInUse,
    warnings,
  };
}
