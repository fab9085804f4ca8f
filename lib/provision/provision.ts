/**
 * The host strategy: preflight -> decide -> plan -> generate keys -> execute (each step read back)
 * -> verify -> result. What the NCS provisioning sample does on the chip, done over the probe.
 *
 * Safety rules, in order of importance:
 * - Nothing is written unless every check passed; a dry run writes nothing.
 * - All key material exists before the first write, so a failing RNG or wrapper leaves the device as it was.
 * - Once the first irreversible write is made, the sequence runs to its end (an abort signal is then
 *   only reported): a device stopped half way needs an erase-all, a finished one does not.
 * - Key buffers are zeroed in `finally`, on every path. Events, errors and the result carry no key bytes.
 */
import { performance } from 'node:perf_hooks';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { cryptoRandom, randomSourceOrigin } from '../random';
import { defaultImplementationId, type KmuSlotSpec } from '../targets';
import { countOperations, type CountingSession } from '../device/counting-session';
import { fromHex, toHex } from '../bytes';
import { KMU_VALUE_BYTES, writeKmuSlot } from '../device/kmu';
import { describeLifecycle, readLifecycle, setLifecycleProvisioning, type LifecycleState } from '../device/lifecycle';
import { holdNetworkCore, lockNetworkCore } from '../device/network-core';
import { writeImplementationId } from '../device/uicr';
import { generateHardwareUniqueKeys, slotValues, zeroHardwareUniqueKeys, type HardwareUniqueKeys } from '../keys/huk';
import { generateIdentityPrivateKey, identityPublicKeyOf, type IdentityPublicKey } from '../keys/identity';
import { isModelWrapper, modelIdentityKeyWrapper, type IdentityKeyWrapper } from '../keys/wrapper';
import { SAMPLE_MESSAGES, ProvisionEvents, type ProvisionEvent, type WarningCode } from './events';
import { decide, type Decision } from './decide';
import { buildPlan } from './plan';
import { preflight, protectedDeviceError, type DeviceState, type Preflight } from './preflight';
import type { ProvisionOptions, ProvisionOutcome, ProvisionResult, StepName, StepReport, TfmErrorJson, VerifyResult } from './types';
import { evaluateState, runBootCheck, verificationError, verify } from './verify';
import { runImageStrategy } from '../image/strategy';

interface StepControl {
  detail?: string;
  skipped?: boolean;
}

/** Everything secret a run holds; zeroed by destroy(). */
class KeyMaterial {
  huks?: HardwareUniqueKeys;
  privateKey?: Uint8Array;
  blob?: Uint8Array;
  destroy(): void {
    zeroHardwareUniqueKeys(this.huks);
    this.privateKey?.fill(0);
    this.blob?.fill(0);
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

class ProvisioningRun {
  private readonly counting: CountingSession;
  private readonly probe: ProbeSession;
  private readonly events = new ProvisionEvents();
  private readonly steps: StepReport[] = [];
  private readonly warnings: string[] = [];
  private readonly started = performance.now();
  private readonly keys = new KeyMaterial();
  private readonly implementationId: Uint8Array;
  private readonly identityKey: 'generate' | 'skip';
  private readonly wrapper: IdentityKeyWrapper;
  private afterWrite = false;
  /** The network core's lock was begun (host write or network-core image): FORCEOFF is left released. */
  private networkCoreLockStarted = false;
  private abortReported = false;
  private preflightResult?: Preflight;
  private decision?: Decision;
  private publicKey?: IdentityPublicKey;
  private lifecycleAfter?: LifecycleState;
  private verification?: VerifyResult;
  private plan?: ProvisionResult['plan'];

  constructor(
    session: ProbeSession,
    private readonly options: ProvisionOptions,
  ) {
    this.counting = countOperations(session);
    this.probe = this.counting.session;
    if (options.events) this.events.onAny((e) => options.events!.emit(e));
    if (options.onEvent) this.events.onAny(options.onEvent);
    this.implementationId = options.implementationId ? Uint8Array.from(options.implementationId) : defaultImplementationId();
    this.identityKey = options.identityKey ?? 'generate';
    this.wrapper = options.identityWrapper ?? modelIdentityKeyWrapper;
  }

  private emit(event: ProvisionEvent): void {
    this.events.emit(event);
  }

  private warn(code: WarningCode, message: string): void {
    this.warnings.push(message);
    this.emit({ type: 'warning', code, message });
  }

  private async step<T>(name: StepName, body: (control: StepControl) => Promise<T>): Promise<T> {
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const ops0 = this.counting.count().operations;
    const control: StepControl = {};
    this.emit({ type: 'stepBegin', step: name, startedAt });
    const finish = (ok: boolean): void => {
      const report: StepReport = { name, startedAt, durationMs: round(performance.now() - t0), operations: this.counting.count().operations - ops0, ok };
      if (control.skipped) report.skipped = true;
      if (control.detail) report.detail = control.detail;
      this.steps.push(report);
      this.emit({ type: 'stepEnd', step: name, ok, durationMs: report.durationMs, operations: report.operations, skipped: report.skipped, detail: report.detail });
    };
    try {
      const value = await body(control);
      finish(true);
      return value;
    } catch (error) {
      finish(false);
      throw error;
    }
  }

  /** Before the first write an abort stops the run; after it, the run finishes and says so. */
  private checkAbort(): void {
    if (!this.options.signal?.aborted) return;
    if (!this.afterWrite) throw new TfmError('INTERRUPTED', 'Provisioning was aborted before the first write; nothing was written to non-volatile memory.');
    if (!this.abortReported) {
      this.abortReported = true;
      this.warn('ABORT_AFTER_FIRST_WRITE', 'Abort requested after the first irreversible write: finishing the sequence, since a device stopped half way needs an erase-all.');
    }
  }

  private checkOptions(): void {
    const o = this.options;
    if (o.strategy !== undefined && o.strategy !== 'host' && o.strategy !== 'image') {
      throw new TfmError('INVALID_PARAMETER', `Unknown provisioning strategy "${String(o.strategy)}" (use 'host' or 'image').`);
    }
    if (o.strategy === 'image') {
      // The image makes its own keys on the chip: no host randomness, no wrapper, nothing to skip.
      if (this.identityKey !== 'generate') throw new TfmError('INVALID_PARAMETER', "The image strategy always writes the identity key (the image does); identityKey: 'skip' applies to the host strategy only.");
      return;
    }
    if (this.identityKey !== 'generate' && this.identityKey !== 'skip') {
      throw new TfmError('INVALID_PARAMETER', `identityKey must be 'generate' or 'skip'.`);
    }
    if (this.implementationId.length !== 32) {
      throw new TfmError('INVALID_PARAMETER', `The implementation ID must be 32 bytes (got ${this.implementationId.length}).`);
    }
    const simulated = this.probe.simulated;
    // Judged by identity (lib/random.ts), not by the source's own `kind`, which any object can claim.
    const origin = randomSourceOrigin(o.random ?? cryptoRandom);
    if (!simulated && origin === 'seeded') {
      throw new TfmError('SEEDED_RANDOM_REFUSED', 'A seeded (deterministic) random source is only accepted on a simulated device; real devices get keys from the OS CSPRNG. Remove the seed.');
    }
    if (!simulated && origin === 'unknown') {
      throw new TfmError(
        'RANDOM_SOURCE_UNTRUSTED',
        'On a device that is not simulated, keys come from the OS CSPRNG (leave `random` out, or pass cryptoRandom) or from a source you vouch for with trustedRandomSource(source). This source is neither.',
      );
    }
    if (this.identityKey === 'generate' && isModelWrapper(this.wrapper) && !simulated) {
      if (!o.allowModelWrapper) {
        throw new TfmError(
          'IDENTITY_WRAPPER_UNVERIFIED',
          `The identity key wrapper "${this.wrapper.name}" is a model: TF-M on silicon cannot decrypt what it writes, and slots 6/7 stay burnt until an erase-all. Supply a wrapper for the real format (--identity-wrapper), skip the identity key (identityKey: 'skip'), or opt in for an experiment with --allow-model-wrapper.`,
          { details: { wrapper: this.wrapper.name } },
        );
      }
      this.warn('MODEL_WRAPPER_ON_HARDWARE', `The identity key is wrapped with the model "${this.wrapper.name}" on real hardware (opted in): TF-M will not be able to use it.`);
    }
    if (this.identityKey === 'skip') {
      this.warn('IDENTITY_KEY_SKIPPED', 'The identity key is skipped: TF-M initial attestation will not work until slots 6/7 are written.');
      if (o.bootModel) this.warn('BOOT_MODEL_UNAVAILABLE', "TF-M's first boot is not checked: its provisioning step requires the identity key.");
    }
  }

  async run(): Promise<ProvisionResult> {
    try {
      const outcome = await this.sequence();
      await this.restoreNetworkCore();
      return this.finish(outcome);
    } catch (error) {
      await this.restoreNetworkCore();
      return this.fail(error);
    } finally {
      this.keys.destroy();
    }
  }

  private async sequence(): Promise<ProvisionOutcome> {
    this.checkOptions();
    this.checkAbort();
    const p = await this.step('preflight', async (control) => {
      const result = await preflight(this.probe, { chip: this.options.chip, identityKey: this.identityKey, implementationId: this.implementationId });
      control.detail = `${result.target.displayName} ${result.deviceId}, lifecycle ${result.lifecycle.state}`;
      return result;
    });
    this.preflightResult = p;
    for (const w of p.warnings) this.warn(w.code, w.message);
    const decision = (this.decision = decide(p, { allowEraseProtected: this.options.allowEraseProtected === true }));
    this.emit({ type: 'preflight', chip: p.chip, deviceId: p.deviceId, lifecycle: p.lifecycle.state, decision: decision.action, present: decision.present, missing: decision.missing });
    if (decision.error) throw decision.error;

    if (decision.action === 'alreadyProvisioned') return this.alreadyProvisioned(p);
    if (this.options.strategy === 'image' && !decision.finishOnly) return this.runImage(p, decision);
    if (decision.finishOnly) {
      const left = [decision.writeImplementationId ? 'the implementation ID' : undefined, decision.writeNetworkCore ? 'the network-core lock' : undefined].filter(Boolean).join(' and ');
      this.warn(
        'FINISHING_EARLIER_RUN',
        `The lifecycle is PROVISIONING and every key is in place (an earlier run stopped after its keys): only ${left} ${this.options.strategy === 'image' ? 'is written, by the host (no image is needed for that)' : 'is written'}.`,
      );
    }

    this.plan = buildPlan(p.target, decision, { identityKey: this.identityKey, implementationId: this.implementationId });
    this.emit({ type: 'plan', writes: this.plan });
    if (!decision.writeImplementationId) this.warn('IMPLEMENTATION_ID_ALREADY_WRITTEN', 'The requested implementation ID is already on the device; it is not written again.');
    if (p.target.network && !decision.writeNetworkCore) this.warn('NETWORK_CORE_ALREADY_LOCKED', "The network core's APPROTECT is already set; it is not written again.");
    if (this.options.dryRun) return 'dryRun';

    this.checkAbort();
    if (!decision.finishOnly) await this.step('generateKeys', async (control) => this.generateKeys(p, control));
    if (this.options.beforeIrreversible) {
      await this.options.beforeIrreversible({
        chip: p.chip,
        deviceId: p.deviceId,
        lifecycle: p.lifecycle.state,
        plan: this.plan,
        identityPublicKey: this.publicKey && { hex: this.publicKey.hex, pem: this.publicKey.pem },
        instanceId: this.publicKey?.instanceId,
        implementationId: toHex(this.implementationId),
      });
    }
    this.checkAbort();
    await this.execute(p, decision);
    return 'provisioned';
  }

  /**
   * Preflight released RESET.NETWORK.FORCEOFF (and halted the network core) to read it. A run that
   * did not go on to lock the network core holds it off again, as it was found: released, the core
   * would boot whatever is in its flash at the next opportunity. Never throws: a failure to put it
   * back is a warning (the core is released but halted).
   */
  private async restoreNetworkCore(): Promise<void> {
    const p = this.preflightResult;
    if (!p?.target.network || !p.networkCore?.wasForcedOff || this.networkCoreLockStarted) return;
    try {
      await holdNetworkCore(this.probe, p.target);
    } catch {
      this.warn('NETWORK_CORE_NOT_HELD', 'RESET.NETWORK.FORCEOFF could not be set back to 1: the network core is released (halted). A reset holds it off again.');
    }
  }

  private async generateKeys(p: Preflight, control: StepControl): Promise<void> {
    const random = this.options.random ?? cryptoRandom;
    this.keys.huks = generateHardwareUniqueKeys(p.target, random);
    if (this.identityKey === 'skip') {
      control.detail = `HUKs (${p.target.huk.size} bytes each)`;
      return;
    }
    this.keys.privateKey = generateIdentityPrivateKey(random);
    this.publicKey = identityPublicKeyOf(this.keys.privateKey);
    let wrapped: Uint8Array;
    try {
      wrapped = await this.wrapper.wrap({ chip: p.chip, mkek: this.keys.huks.mkek, deviceId: p.deviceIdBytes, privateKey: this.keys.privateKey });
    } catch (error) {
      // The wrapper's own message is not repeated: user code may put anything in it.
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" failed (see the error's cause); nothing was written to non-volatile memory.`, { cause: error });
    }
    const expected = KMU_VALUE_BYTES * p.target.identityKey.slots.length;
    if (wrapped instanceof Uint8Array && wrapped.buffer === this.keys.privateKey.buffer) {
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" returned the private key's own buffer instead of a wrapped copy; nothing was written to non-volatile memory.`);
    }
    if (!(wrapped instanceof Uint8Array) || wrapped.length !== expected) {
      if (wrapped instanceof Uint8Array) wrapped.fill(0);
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" returned ${wrapped instanceof Uint8Array ? `${wrapped.length} bytes` : 'no bytes'}, not ${expected}; nothing was written to non-volatile memory.`);
    }
    this.keys.blob = wrapped;
    // d is not needed once it is wrapped and its public key known: zeroed now, not at the end.
    this.keys.privateKey.fill(0);
    control.detail = `HUKs (${p.target.huk.size} bytes each), P-256 identity key, wrapped with ${this.wrapper.name}`;
  }

  private async writeSlots(slots: readonly KmuSlotSpec[], key: Uint8Array): Promise<void> {
    const values = slotValues(key, slots);
    try {
      for (let i = 0; i < slots.length; i++) {
        this.checkAbort();
        await writeKmuSlot(this.probe, this.preflightResult!.target, slots[i], values[i]);
      }
    } finally {
      for (const v of values) v.fill(0);
    }
  }

  private async execute(p: Preflight, decision: Decision): Promise<void> {
    if (!decision.finishOnly) await this.writeLifecycleAndKeys(p);
    await this.writeKeylessSteps(p, decision);
  }

  private async writeLifecycleAndKeys(p: Preflight): Promise<void> {
    const { target } = p;
    const huks = this.keys.huks!;
    await this.step('lifecycle', async () => {
      // The sample's own check, right before the write: the device may have changed since preflight.
      const before = await readLifecycle(this.probe, target);
      if (before.state !== 'ASSEMBLY') {
        throw new TfmError('LIFECYCLE_NOT_ASSEMBLY', `Lifecycle state is not ASSEMBLY as expected: ${describeLifecycle(before)}. Nothing was written to non-volatile memory.`, { details: { lifecycle: before.state } });
      }
      this.emit({ type: 'message', text: SAMPLE_MESSAGES.lifecycleAssembly });
      this.afterWrite = true; // from here the device may have changed, even if the write call fails
      await setLifecycleProvisioning(this.probe, target);
      const after = await readLifecycle(this.probe, target);
      this.lifecycleAfter = after.state;
      if (after.state !== 'PROVISIONING') {
        throw new TfmError('VERIFY_FAILED', `Lifecycle state was ${describeLifecycle(after)} after the write, not PROVISIONING.`, { afterWrite: true, details: { lifecycle: after.state } });
      }
      this.emit({ type: 'message', text: SAMPLE_MESSAGES.lifecycleProvisioning });
    });
    this.emit({ type: 'message', text: SAMPLE_MESSAGES.generatingHuks });
    await this.step('mkek', async (c) => {
      await this.writeSlots(target.huk.mkek, huks.mkek);
      c.detail = `slot(s) ${target.huk.mkek.map((s) => s.index).join(', ')}`;
    });
    await this.step('mext', async (c) => {
      await this.writeSlots(target.huk.mext, huks.mext);
      c.detail = `slot(s) ${target.huk.mext.map((s) => s.index).join(', ')}`;
    });
    await this.step('identityKey', async (c) => {
      if (this.identityKey === 'skip') {
        c.skipped = true;
        c.detail = 'skipped (identityKey: skip)';
        return;
      }
      this.emit({ type: 'message', text: SAMPLE_MESSAGES.writingIdentityKey });
      await this.writeSlots(target.identityKey.slots, this.keys.blob!);
      c.detail = `slot(s) ${target.identityKey.slots.map((s) => s.index).join(', ')}, wrapper ${this.wrapper.name}`;
    });
  }

  /** The steps that need no key (also all that is left when finishing an earlier run), then verify. */
  private async writeKeylessSteps(p: Preflight, decision: Decision): Promise<void> {
    const { target } = p;
    await this.step('implementationId', async (c) => {
      if (!decision.writeImplementationId) {
        c.skipped = true;
        c.detail = 'already on the device';
        return;
      }
      this.checkAbort();
      this.afterWrite = true; // the first write of a run that finishes an earlier one
      if (!(await writeImplementationId(this.probe, target, this.implementationId))) {
        throw new TfmError('VERIFY_FAILED', 'The implementation ID did not read back as written.', { afterWrite: true });
      }
    });
    if (target.network) {
      await this.step('networkCore', async (c) => {
        if (!decision.writeNetworkCore) {
          c.skipped = true;
          c.detail = 'already locked';
          return;
        }
        this.checkAbort();
        this.afterWrite = true;
        this.networkCoreLockStarted = true;
        if (!(await lockNetworkCore(this.probe, target))) {
          throw new TfmError('VERIFY_FAILED', "The network core's UICR.APPROTECT did not read back as 0.", { afterWrite: true });
        }
        c.detail = 'UICR.APPROTECT = 0: debug access denied after the next reset';
      });
    }
    await this.step('verify', async (c) => {
      const result = await verify(
        this.probe,
        {
          identityKey: this.identityKey,
          implementationId: this.implementationId,
          lifecycle: ['PROVISIONING'],
          identityBlob: this.keys.blob,
          identityPublicKey: this.publicKey?.hex,
          bootModel: this.options.bootModel,
        },
        { identity: { target, chip: p.chip, part: p.part, variant: p.variant, deviceId: p.deviceIdBytes, deviceIdHex: p.deviceId } },
      );
      this.verification = result;
      if (result.lifecycle) this.lifecycleAfter = result.lifecycle;
      c.detail = `${result.checks.filter((k) => k.ok).length}/${result.checks.length} checks passed${this.options.bootModel && this.identityKey === 'generate' ? ' (including the TF-M boot model)' : ''}`;
      if (!result.ok) {
        const error = result.error ? new TfmError(result.error.code, result.error.message, { afterWrite: true, details: result.error.details }) : new TfmError('VERIFY_FAILED', 'Verification failed.', { afterWrite: true });
        throw error;
      }
    });
    this.emit({ type: 'message', text: SAMPLE_MESSAGES.success });
  }

  /** The image strategy (lib/image/strategy.ts) in place of generate + execute, inside this run. */
  private async runImage(p: Preflight, decision: Decision): Promise<ProvisionOutcome> {
    const outcome = await runImageStrategy(
      {
        probe: this.probe,
        preflight: p,
        decision,
        implementationId: this.implementationId,
        dryRun: this.options.dryRun === true,
        bootModel: this.options.bootModel,
        beforeIrreversible: this.options.beforeIrreversible,
        step: (name, body) => this.step(name, body),
        emit: (event) => this.emit(event),
        warn: (code, message) => this.warn(code, message),
        markAfterWrite: () => {
          this.afterWrite = true;
        },
        markNetworkCoreLock: () => {
          this.networkCoreLockStarted = true;
        },
        checkAbort: () => this.checkAbort(),
      },
      this.options,
    );
    this.plan = outcome.plan;
    if (outcome.dryRun) return 'dryRun';
    this.verification = outcome.verification;
    this.lifecycleAfter = outcome.lifecycleAfter;
    this.publicKey = outcome.identityPublicKey;
    return 'provisioned';
  }

  /** A complete device: verified from the preflight readings (no second read) and the boot model. */
  private async alreadyProvisioned(p: Preflight): Promise<ProvisionOutcome> {
    await this.step('verify', async (c) => {
      const state: DeviceState = {
        lifecycle: p.lifecycle,
        protection: p.protection,
        implementationIdBytes: fromHex(p.implementationId),
        slots: p.slots,
        networkCore: p.networkCore,
      };
      const checks = evaluateState(p.target, state, { identityKey: this.identityKey, implementationId: this.implementationId });
      const verification: VerifyResult = { ok: false, chip: p.chip, deviceId: p.deviceId, lifecycle: p.lifecycle.state, checks, operations: 0, durationMs: 0 };
      if (this.options.bootModel && this.identityKey === 'generate') {
        const boot = await runBootCheck(this.options.bootModel, { identityKey: this.identityKey });
        checks.push(boot.check);
        verification.boot = boot.boot;
        verification.identityPublicKey = boot.identityPublicKey;
        verification.instanceId = boot.instanceId;
      }
      const error = verificationError(checks);
      verification.ok = !error;
      if (error) {
        verification.errorCode = error.code;
        verification.error = error.toJSON() as TfmErrorJson;
      }
      this.verification = verification;
      c.detail = `${checks.filter((k) => k.ok).length}/${checks.length} checks passed from the preflight readings`;
      if (error) throw error;
    });
    this.lifecycleAfter = p.lifecycle.state;
    return 'alreadyProvisioned';
  }

  private base(): ProvisionResult {
    const p = this.preflightResult;
    const count = this.counting.count();
    const publicKey = this.publicKey ?? (this.verification?.identityPublicKey && { ...this.verification.identityPublicKey, instanceId: this.verification.instanceId });
    const result: ProvisionResult = {
      ok: false,
      outcome: 'failed',
      strategy: this.options.strategy ?? 'host',
      chip: p?.chip,
      deviceId: p?.deviceId,
      lifecycleBefore: p?.lifecycle.state,
      lifecycleAfter: this.lifecycleAfter ?? (this.afterWrite ? undefined : p?.lifecycle.state),
      implementationId: toHex(this.implementationId),
      identityWrapper: this.identityKey === 'generate' && this.decision?.action === 'provision' && !this.decision.finishOnly && this.options.strategy !== 'image' ? this.wrapper.name : undefined,
      simulated: this.probe.simulated,
      steps: this.steps,
      operations: count.operations,
      writes: count.nvmcWrites,
      durationMs: round(performance.now() - this.started),
      warnings: this.warnings,
      afterWrite: this.afterWrite,
    };
    if (publicKey) {
      result.identityPublicKey = { hex: publicKey.hex, pem: publicKey.pem };
      result.instanceId = publicKey.instanceId;
    }
    if (this.plan) result.plan = this.plan;
    if (p) {
      result.components = p.components;
      result.present = this.decision?.present;
      result.missing = this.decision?.missing;
    }
    if (this.verification) result.verification = this.verification;
    return result;
  }

  private finish(outcome: ProvisionOutcome): ProvisionResult {
    return { ...this.base(), ok: true, outcome };
  }

  private fail(error: unknown): ProvisionResult {
    const tfm = protectedDeviceError(error) ?? asTfmError(error);
    if (this.afterWrite) tfm.afterWrite = true;
    const refused = !this.afterWrite && (tfm.category === 'refused' || tfm.category === 'usage');
    const result = this.base();
    result.outcome = refused ? 'refused' : 'failed';
    result.errorCode = tfm.code;
    result.error = tfm.toJSON() as TfmErrorJson;
    // A refusal leaves the device as it was; a key never reached it.
    if (!this.afterWrite) {
      delete result.identityPublicKey;
      delete result.instanceId;
    }
    return result;
  }
}

/**
 * Provisions the device on `session` (host strategy). Resolves with a ProvisionResult for every
 * outcome; see ProvisionResult for how to read it. The session stays open.
 */
export async function provision(session: ProbeSession, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  return new ProvisioningRun(session, options).run();
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
