/**
 * Verification by read-back: reads everything provisioning writes and compares it with what should be
 * there. Works on any device (a re-check days later) and is the last stage of provision(), which also
 * passes the identity blob it wrote. On the simulator, the TF-M first-boot model runs on a copy of the
 * device and must reach SECURED with the identity key we report. Nothing is written.
 */
import { performance } from 'node:perf_hooks';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { ERASED_WORD, defaultImplementationId, type Target } from '../targets';
import { countOperations } from '../device/counting-session';
import { withDefaultBootModel } from './default-boot-model';
import type { ChipIdentity } from '../device/ficr';
import { fromHex, hex32, toHex } from '../bytes';
import { KMU_VALUE_BYTES, type KmuSlotReading } from '../device/kmu';
import type { LifecycleState } from '../device/lifecycle';
import type { NetworkCoreReading } from '../device/network-core';
import { describePublicKey } from '../keys/identity';
import { identify, protectedDeviceError, readDeviceState, restoreNetworkCoreHold, type DeviceState, type Preflight } from './preflight';
import type { BootModel, TfmBootOutcome, VerifyCheck, VerifyOptions, VerifyResult } from './types';

function slotCheck(name: string, reading: KmuSlotReading | undefined, dest: number | undefined, perm: number, value?: 'written' | 'matches'): VerifyCheck {
  const expectedParts = [dest === undefined ? undefined : `DEST ${hex32(dest)}`, `PERM ${hex32(perm)}`, value ? `VALUE ${value === 'matches' ? 'as written' : 'written'}` : undefined];
  if (!reading) return { name, ok: false, expected: expectedParts.filter(Boolean).join(', '), actual: 'not read' };
  const actualParts = [dest === undefined ? undefined : `DEST ${hex32(reading.dest)}`, `PERM ${hex32(reading.perm)}`];
  let ok = reading.perm === perm && (dest === undefined || reading.dest === dest);
  if (value) {
    const valueOk = value === 'matches' ? reading.valueMatches === true : reading.value === 'written';
    actualParts.push(`VALUE ${value === 'matches' ? (reading.valueMatches ? 'as written' : reading.value === 'written' ? 'different' : reading.value) : reading.value}`);
    ok = ok && valueOk;
  }
  return { name, ok, expected: expectedParts.filter(Boolean).join(', '), actual: actualParts.filter(Boolean).join(', ') };
}

function normaliseHex(value: string | undefined): string | undefined {
  return value?.replace(/^0x/i, '').toLowerCase();
}

interface VerifyInternal {
  /** Skip the FICR read: provision() already identified the chip. */
  identity?: ChipIdentity;
  /**
   * provision() after the host strategy: the application core is still halted from preflight, and
   * the write steps' read-backs of the slots and of the network core are the last words written
   * there (docs/performance.md), so verify reads only what they do not cover.
   */
  readBack?: { halted: boolean; slots?: readonly KmuSlotReading[]; networkCore?: NetworkCoreReading };
}

/** Compares a device state with what provisioning writes (pure; no probe access). */
export function evaluateState(target: Target, state: DeviceState, options: VerifyOptions = {}): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const identityExpected = (options.identityKey ?? 'generate') === 'generate';
  const accepted: LifecycleState[] = options.lifecycle ?? ['PROVISIONING', 'SECURED'];
  checks.push({ name: 'lifecycle', ok: accepted.includes(state.lifecycle.state), expected: accepted.join(' or '), actual: state.lifecycle.state });
  const slot = (index: number): KmuSlotReading | undefined => state.slots.find((s) => s.index === index);
  for (const spec of target.huk.mkek) checks.push(slotCheck(`mkek slot ${spec.index}`, slot(spec.index), spec.dest, spec.perm));
  for (const spec of target.huk.mext) checks.push(slotCheck(`mext slot ${spec.index}`, slot(spec.index), spec.dest, spec.perm));
  if (identityExpected) {
    for (const spec of target.identityKey.slots) {
      const value = options.identityKeyCheck === 'perm' ? undefined : options.identityBlob ? 'matches' : 'written';
      checks.push(slotCheck(`identity key slot ${spec.index}`, slot(spec.index), options.identityKeyCheck === 'perm' ? undefined : spec.dest, spec.perm, value));
    }
  }
  const wantedId = toHex(options.implementationId ?? defaultImplementationId());
  const idOnDevice = toHex(state.implementationIdBytes);
  checks.push({ name: 'implementation ID', ok: idOnDevice === wantedId, expected: wantedId, actual: idOnDevice });
  if (state.networkCore) {
    const net = state.networkCore;
    checks.push({
      name: 'network core APPROTECT',
      ok: net.locked,
      expected: hex32(0),
      actual: net.accessible ? hex32(net.approtect ?? ERASED_WORD) : 'debug port locked',
    });
  }
  return checks;
}

export interface BootCheck {
  check: VerifyCheck;
  boot: NonNullable<VerifyResult['boot']>;
  identityPublicKey?: { hex: string; pem: string };
  instanceId?: string;
}

/** Runs the TF-M first-boot model (on a copy of the device: the hook's contract) and judges it. */
export async function runBootCheck(bootModel: BootModel, options: { identityKey?: 'generate' | 'skip'; identityPublicKey?: string }): Promise<BootCheck> {
  const outcome: TfmBootOutcome = await bootModel();
  const identityExpected = (options.identityKey ?? 'generate') === 'generate';
  const reported = normaliseHex(options.identityPublicKey);
  const booted = normaliseHex(outcome.identityPublicKey);
  const identityMatches = reported === undefined ? undefined : reported === booted;
  // One lifecycle spelling (lib/targets/lifecycle.ts) in library, simulator and results: no case bridge.
  const secured = outcome.ok && outcome.lifecycle === 'SECURED';
  const check: VerifyCheck = {
    name: 'TF-M first boot (model, on a copy)',
    ok: secured && identityMatches !== false && (!identityExpected || booted !== undefined),
    expected: reported ? 'SECURED, attesting with the reported identity key' : 'SECURED',
    actual: `${outcome.ok ? 'booted' : `refused${outcome.errorCode ? ` (${outcome.errorCode})` : ''}`}, lifecycle ${String(outcome.lifecycle)}${identityMatches === false ? ', different identity key' : ''}`,
  };
  const result: BootCheck = { check, boot: { ...outcome, identityMatches } };
  if (booted && /^04[0-9a-f]{128}$/.test(booted)) {
    const described = describePublicKey(Uint8Array.from(Buffer.from(booted, 'hex')));
    result.identityPublicKey = { hex: described.hex, pem: described.pem };
    result.instanceId = described.instanceId;
  }
  return result;
}

export function verificationError(checks: VerifyCheck[]): TfmError | undefined {
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  return failed.length === 0 ? undefined : new TfmError('VERIFY_FAILED', `Verification failed: ${failed.join('; ')}.`, { details: { failed, checks } });
}

/**
 * Reads the device back and checks it. Resolves for every outcome (ok false with errorCode and error
 * for mismatches and probe failures); no non-volatile write (on nRF5340 the network core is released
 * to read it and held off again afterwards).
 */
export async function verify(session: ProbeSession, given: VerifyOptions = {}, internal: VerifyInternal = {}): Promise<VerifyResult> {
  // A simulated session's TF-M boot model unless the caller gives one (as provision() does).
  const options = withDefaultBootModel(session, given);
  const started = performance.now();
  const counting = countOperations(session);
  const probe = counting.session;
  const result: VerifyResult = { ok: false, checks: [], operations: 0, durationMs: 0 };
  try {
    const identity = internal.identity ?? (await identify(probe, options.chip));
    const target: Target = identity.target;
    result.chip = identity.chip;
    result.deviceId = identity.deviceIdHex;
    const identityExpected = (options.identityKey ?? 'generate') === 'generate';
    const expectedValues = new Map<number, Uint8Array>();
    if (options.identityBlob) {
      if (options.identityBlob.length !== KMU_VALUE_BYTES * target.identityKey.slots.length) {
        throw new TfmError('INVALID_PARAMETER', `identityBlob must be ${KMU_VALUE_BYTES * target.identityKey.slots.length} bytes.`);
      }
      target.identityKey.slots.forEach((slot, i) => expectedValues.set(slot.index, options.identityBlob!.subarray(i * KMU_VALUE_BYTES, (i + 1) * KMU_VALUE_BYTES)));
    }
    const slotIndices = [...target.huk.mkek, ...target.huk.mext, ...(identityExpected ? target.identityKey.slots : [])].map((s) => s.index);
    let state: DeviceState;
    try {
      const readBack = internal.readBack;
      state = await readDeviceState(probe, target, {
        expectedValues,
        slotIndices,
        erratum161: identity.erratum161,
        halted: readBack?.halted,
        known: readBack && { slots: readBack.slots, networkCore: readBack.networkCore },
      });
    } catch (error) {
      throw protectedDeviceError(error) ?? error;
    }
    // The network core was released only to read it: held off again, as found.
    await restoreNetworkCoreHold(probe, { target, networkCore: state.networkCore });
    result.lifecycle = state.lifecycle.state;
    result.checks = evaluateState(target, state, options);
    // TF-M's provisioning step requires the identity key: without it the boot model can only refuse.
    if (options.bootModel && identityExpected) {
      const boot = await runBootCheck(options.bootModel, options);
      result.checks.push(boot.check);
      result.boot = boot.boot;
      result.identityPublicKey = boot.identityPublicKey;
      result.instanceId = boot.instanceId;
    }
    const error = verificationError(result.checks);
    result.ok = error === undefined;
    if (error) {
      result.errorCode = error.code;
      result.error = error.toJSON() as VerifyResult['error'];
    }
  } catch (error) {
    const tfm = asTfmError(error);
    result.ok = false;
    result.errorCode = tfm.code;
    result.error = tfm.toJSON() as VerifyResult['error'];
  } finally {
    result.operations = counting.count().operations;
    result.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  }
  return result;
}

/**
 * Verification of a device found complete, from the preflight readings (no second read), plus the
 * boot model when there is one. The result has the shape verify() gives.
 */
export async function verifyFromReadings(p: Preflight, options: Pick<VerifyOptions, 'identityKey' | 'implementationId' | 'bootModel'>): Promise<VerifyResult> {
  const state: DeviceState = {
    lifecycle: p.lifecycle,
    protection: p.protection,
    implementationIdBytes: fromHex(p.implementationId),
    slots: p.slots,
    networkCore: p.networkCore,
  };
  const checks = evaluateState(p.target, state, { identityKey: options.identityKey, implementationId: options.implementationId });
  const verification: VerifyResult = { ok: false, chip: p.chip, deviceId: p.deviceId, lifecycle: p.lifecycle.state, checks, operations: 0, durationMs: 0 };
  if (options.bootModel && options.identityKey === 'generate') {
    const boot = await runBootCheck(options.bootModel, { identityKey: options.identityKey });
    checks.push(boot.check);
    verification.boot = boot.boot;
    verification.identityPublicKey = boot.identityPublicKey;
    verification.instanceId = boot.instanceId;
  }
  const error = verificationError(checks);
  verification.ok = !error;
  if (error) {
    verification.errorCode = error.code;
    verification.error = error.toJSON() as VerifyResult['error'];
  }
  return verification;
}
