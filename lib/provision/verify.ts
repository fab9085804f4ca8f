/**
 * Verification by read-back: reads everything provisioning writes and compares it with what should be
 * there. Works on any device (a re-check days later) and is the last stage of provision(), which also
 * passes the identity blob it wrote. On the simulator, the TF-M first-boot model runs on a copy of the
 * device and must reach SECURED, then answer an initial attestation request with a token that
 * lib/attest verifies against the identity key we report (a badly wrapped key boots on silicon too,
 * and shows only there). Nothing is written.
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
import { randomBytes } from 'node:crypto';
import { describePublicKey } from '../keys/identity';
import { DEFAULT_INSTANCE_ID_FORMULA, instanceIdFormulaForTfm, type InstanceIdFormula } from '../keys/instance-id';
import { staticLookup } from '../attest/lookup';
import { verifyAttestationToken } from '../attest/verify';
import { identify, protectedDeviceError, readDeviceState, restoreNetworkCoreHold, type DeviceState, type Preflight } from './preflight';
import type { BootModel, NotVerifiedResult, TfmBootOutcome, TfmErrorJson, VerifyCheck, VerifyOptions, VerifyResult } from './types';

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
  checks: VerifyCheck[];
  boot: NonNullable<VerifyResult['boot']>;
  attestation?: VerifyResult['attestation'];
  identityPublicKey?: { hex: string; pem: string };
  instanceId?: string;
  instanceIdFormula?: InstanceIdFormula;
}

/** The formula of the TF-M a run targets (INVALID_PARAMETER for a version that is not 2.x). */
export function formulaOption(tfmVersion: string | undefined): InstanceIdFormula {
  return tfmVersion === undefined ? DEFAULT_INSTANCE_ID_FORMULA : instanceIdFormulaForTfm(tfmVersion);
}

/**
 * Runs the TF-M first-boot model (on a copy of the device: the hook's contract) and judges it: the
 * boot must reach SECURED; then, when an identity key is expected, the simulated TF-M's attestation
 * token must verify (lib/attest) against the reported identity key (or, when the run knows none, the
 * key the model unwrapped), the formula's instance ID, the implementation ID and a fresh challenge.
 */
export async function runBootCheck(
  bootModel: BootModel,
  options: { identityKey?: 'generate' | 'skip'; identityPublicKey?: string; implementationId?: Uint8Array; tfmVersion?: string },
): Promise<BootCheck> {
  const formula = formulaOption(options.tfmVersion);
  const challenge = randomBytes(32); // a verifier's nonce: public, fresh per request
  const outcome: TfmBootOutcome = await bootModel({ instanceIdFormula: formula, challenge });
  const identityExpected = (options.identityKey ?? 'generate') === 'generate';
  const reported = normaliseHex(options.identityPublicKey);
  const booted = normaliseHex(outcome.identityPublicKey);
  const identityMatches = reported === undefined || booted === undefined ? undefined : reported === booted;
  // One lifecycle spelling (lib/targets/lifecycle.ts) in library, simulator and results: no case bridge.
  const secured = outcome.ok && outcome.lifecycle === 'SECURED';
  const { attestation: answer, ...boot } = outcome;
  const checks: VerifyCheck[] = [
    {
      name: 'TF-M first boot (model, on a copy)',
      ok: secured,
      expected: 'SECURED',
      actual: `${outcome.ok ? 'booted' : `refused${outcome.errorCode ? ` (${outcome.errorCode})` : ''}`}, lifecycle ${String(outcome.lifecycle)}`,
    },
  ];
  const result: BootCheck = { checks, boot: { ...boot, identityMatches } };
  const keyHex = reported ?? booted;
  if (keyHex && /^04[0-9a-f]{128}$/.test(keyHex)) {
    const described = describePublicKey(Uint8Array.from(Buffer.from(keyHex, 'hex')), formula);
    result.identityPublicKey = { hex: described.hex, pem: described.pem };
    result.instanceId = described.instanceId;
    result.instanceIdFormula = formula;
  }
  if (secured && identityExpected) {
    const name = 'TF-M initial attestation (model, on a copy)';
    const expected = `a token signed by ${reported ? 'the reported identity key' : 'the identity key'}, answering the challenge`;
    if (!answer?.ok || !answer.token) {
      const why = answer?.message ?? 'the boot model made no attestation request';
      result.attestation = { ok: false, errorCodes: [answer?.errorCode ?? 'TFM_ATTESTATION_FAILED'], challenge: challenge.toString('hex'), message: why };
      checks.push({ name, ok: false, expected, actual: `no token: ${why}` });
    } else if (!keyHex || !result.identityPublicKey) {
      result.attestation = { ok: false, errorCodes: ['TFM_ATTESTATION_FAILED'], token: toHex(answer.token), challenge: challenge.toString('hex'), message: 'no identity public key to check the token against' };
      checks.push({ name, ok: false, expected, actual: 'a token, but no identity public key is known to check it against' });
    } else {
      const lookup = staticLookup(
        [{ identityPublicKey: Uint8Array.from(Buffer.from(keyHex, 'hex')), instanceIdFormula: formula, implementationId: toHex(options.implementationId ?? defaultImplementationId()) }],
        'this run',
      );
      const verdict = await verifyAttestationToken(answer.token, { lookup, nonce: challenge });
      const failed = verdict.checks.filter((c) => c.status === 'fail');
      const message = verdict.ok ? `verified (${verdict.profile}, instance ID ${result.instanceId})` : failed.map((c) => `${c.name}: ${c.detail}`).join('; ');
      result.attestation = { ok: verdict.ok, errorCodes: verdict.errorCodes, token: toHex(answer.token), challenge: challenge.toString('hex'), ...(verdict.profile ? { profile: verdict.profile } : {}), message };
      checks.push({ name, ok: verdict.ok, expected, actual: verdict.ok ? `verified, profile ${verdict.profile}` : `refused (${verdict.errorCodes.join(', ')})` });
    }
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
  // What was read so far; settled into a VerifyResult at the end.
  const read: ReadSoFar = { checks: [] };
  let failure: TfmError | undefined;
  try {
    const identity = internal.identity ?? (await identify(probe, options.chip));
    const target: Target = identity.target;
    read.chip = identity.chip;
    read.deviceId = identity.deviceIdHex;
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
    read.lifecycle = state.lifecycle.state;
    read.checks = evaluateState(target, state, options);
    // TF-M's provisioning step requires the identity key: without it the boot model can only refuse.
    if (options.bootModel && identityExpected) Object.assign(read, bootFields(await runBootCheck(options.bootModel, options), read.checks));
    failure = verificationError(read.checks);
  } catch (error) {
    failure = asTfmError(error);
  }
  return settle(read, failure, { operations: counting.count().operations, durationMs: Math.round((performance.now() - started) * 1000) / 1000 });
}

/** What a verification read before it ended. */
type ReadSoFar = Omit<NotVerifiedResult, 'ok' | 'errorCode' | 'error' | 'operations' | 'durationMs'>;

/** The boot check's fields of a result; its checks are added to `checks`. */
function bootFields(boot: Awaited<ReturnType<typeof runBootCheck>>, checks: VerifyCheck[]): Partial<ReadSoFar> {
  checks.push(...boot.checks);
  return {
    boot: boot.boot,
    ...(boot.attestation ? { attestation: boot.attestation } : {}),
    identityPublicKey: boot.identityPublicKey,
    instanceId: boot.instanceId,
    instanceIdFormula: boot.instanceIdFormula,
  };
}

/** The result: verified when nothing failed and the device was identified and its lifecycle read. */
function settle(read: ReadSoFar, failure: TfmError | undefined, cost: { operations: number; durationMs: number }): VerifyResult {
  const { chip, deviceId, lifecycle } = read;
  if (failure === undefined && chip !== undefined && deviceId !== undefined && lifecycle !== undefined) return { ...read, ...cost, ok: true, chip, deviceId, lifecycle };
  const error = failure ?? new TfmError('INTERNAL_ERROR', 'Verification ended without reading the device.');
  return { ...read, ...cost, ok: false, errorCode: error.code, error: error.toJSON() as TfmErrorJson };
}

/**
 * Verification of a device found complete, from the preflight readings (no second read), plus the
 * boot model when there is one. The result has the shape verify() gives.
 */
export async function verifyFromReadings(p: Preflight, options: Pick<VerifyOptions, 'identityKey' | 'implementationId' | 'bootModel' | 'tfmVersion'>): Promise<VerifyResult> {
  const state: DeviceState = {
    lifecycle: p.lifecycle,
    protection: p.protection,
    implementationIdBytes: fromHex(p.implementationId),
    slots: p.slots,
    networkCore: p.networkCore,
  };
  const checks = evaluateState(p.target, state, { identityKey: options.identityKey, implementationId: options.implementationId });
  const read: ReadSoFar = { chip: p.chip, deviceId: p.deviceId, lifecycle: p.lifecycle.state, checks };
  if (options.bootModel && options.identityKey === 'generate') {
    const boot = await runBootCheck(options.bootModel, { identityKey: options.identityKey, implementationId: options.implementationId, tfmVersion: options.tfmVersion });
    Object.assign(read, bootFields(boot, checks));
  }
  return settle(read, verificationError(checks), { operations: 0, durationMs: 0 });
}
