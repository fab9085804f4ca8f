/**
 * One provisioning run, whichever strategy does the writing:
 *
 *   options -> preflight -> decide -> [already provisioned: verify from the readings]
 *   -> strategy.plan -> plan event -> [dry run: stop] -> strategy.prepare (host: keys)
 *   -> beforeIrreversible -> strategy.execute (each write read back) -> verify -> Success! -> result
 *
 * Safety rules, in order of importance:
 * - Nothing is written unless every check passed; a dry run writes nothing.
 * - Once the first irreversible write is made, the sequence runs to its end (an abort signal is then
 *   only reported): a device stopped half way needs an erase-all, a finished one does not.
 * - The strategy's secrets are zeroed in `finally`, on every path. Events, errors and the result
 *   carry no key bytes.
 */
import { performance } from 'node:perf_hooks';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { defaultImplementationId } from '../targets';
import type { LifecycleState } from '../targets/lifecycle';
import { SAMPLE_MESSAGES } from '../targets/provisioning-sample';
import { countOperations, type CountingSession } from '../device/counting-session';
import { fromHex, toHex } from '../bytes';
import { holdNetworkCore } from '../device/network-core';
import type { IdentityPublicKey } from '../keys/identity';
import { DEFAULT_INSTANCE_ID_FORMULA, instanceIdUnder, type InstanceIdFormula } from '../keys/instance-id';
import { ProvisionEvents, type ProvisionEvent, type WarningCode } from './events';
import { decide, type Decision } from './decide';
import { preflight, protectedDeviceError, type Preflight } from './preflight';
import type { ProvisioningStrategy, RunContext, StepControl } from './strategy';
import { HostStrategy } from './strategies/host';
import { ImageStrategy } from './strategies/image';
import type {
  FailedResult,
  IdentityFacts,
  PlannedWrite,
  PreflightFacts,
  ProvisionOptions,
  ProvisionResult,
  ProvisionResultCommon,
  Recovery,
  RefusedResult,
  StepName,
  StepReport,
  SuccessfulProvisionResult,
  TfmErrorJson,
  VerifiedResult,
  VerifyResult,
} from './types';
import { formulaOption, verify, verifyFromReadings } from './verify';
import { implementationIdProblem } from './implementation-id';

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class ProvisioningRun {
  private readonly counting: CountingSession;
  private readonly probe: ProbeSession;
  private readonly events = new ProvisionEvents();
  private readonly steps: StepReport[] = [];
  private readonly warnings: string[] = [];
  private readonly started = performance.now();
  private readonly implementationId: Uint8Array;
  private readonly identityKey: 'generate' | 'skip';
  /** The strategy asked for; the host strategy also finishes an earlier run that stopped after its keys. */
  private readonly requested: ProvisioningStrategy;
  private readonly host: HostStrategy;
  /** The strategy that writes this run (set after the decision). */
  private writer?: ProvisioningStrategy;
  private context?: RunContext;
  private afterWrite = false;
  /** The network core's lock was begun (host write or network-core image): FORCEOFF is left released. */
  private networkCoreLockStarted = false;
  private abortReported = false;
  private preflightResult?: Preflight;
  private decision?: Decision;
  private publicKey?: IdentityPublicKey;
  /** The instance-ID formula of the TF-M the device will boot (ProvisionOptions.tfmVersion). */
  private formula: InstanceIdFormula = DEFAULT_INSTANCE_ID_FORMULA;
  private lifecycleAfter?: LifecycleState;
  private verification?: VerifyResult;
  /** The verification of a run that passed it (what an ok result carries). */
  private verified?: VerifiedResult;
  private plan?: PlannedWrite[];

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
    this.host = new HostStrategy(options);
    this.requested = options.strategy === 'image' ? new ImageStrategy() : this.host;
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

  private optionsContext(): RunContext {
    const run = this;
    return {
      options: this.options,
      identityKey: this.identityKey,
      implementationId: this.implementationId,
      simulated: this.probe.simulated,
      probe: this.probe,
      get preflight(): Preflight {
        return run.preflightResult!;
      },
      get decision(): Decision {
        return run.decision!;
      },
      step: (name, body) => this.step(name, body),
      emit: (event) => this.emit(event),
      warn: (code, message) => this.warn(code, message),
      checkAbort: () => this.checkAbort(),
      markAfterWrite: () => {
        this.afterWrite = true;
      },
      markNetworkCoreLock: () => {
        this.networkCoreLockStarted = true;
      },
      noteLifecycle: (state) => {
        this.lifecycleAfter = state;
      },
    };
  }

  async run(): Promise<ProvisionResult> {
    // A stop that arrives after the first write is reported when it arrives (the run goes on).
    const onAbort = (): void => {
      if (this.afterWrite) this.checkAbort();
    };
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await this.sequence();
      await this.restoreNetworkCore();
      return this.finish(outcome);
    } catch (error) {
      // Read back before the network core is put back: the preflight's readings are stale now.
      const readBack = this.afterWrite ? await this.readBack() : undefined;
      await this.restoreNetworkCore();
      return this.fail(error, readBack);
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
      this.requested.destroy?.();
      this.host.destroy();
    }
  }

  private async sequence(): Promise<SuccessfulProvisionResult['outcome']> {
    const o = this.options;
    if (o.strategy !== undefined && o.strategy !== 'host' && o.strategy !== 'image') {
      throw new TfmError('INVALID_PARAMETER', `Unknown provisioning strategy "${String(o.strategy)}" (use 'host' or 'image').`);
    }
    const idProblem = implementationIdProblem(this.implementationId);
    if (idProblem !== undefined) throw new TfmError('INVALID_PARAMETER', `The implementation ID ${idProblem}`);
    this.formula = formulaOption(o.tfmVersion);
    const context = (this.context = this.optionsContext());
    this.requested.checkOptions(context);
    this.checkAbort();
    const p = await this.step('preflight', async (control) => {
      const result = await preflight(this.probe, { chip: o.chip, identityKey: this.identityKey, implementationId: this.implementationId });
      control.detail = `${result.target.displayName} ${result.deviceId}, lifecycle ${result.lifecycle.state}`;
      return result;
    });
    this.preflightResult = p;
    for (const w of p.warnings) this.warn(w.code, w.message);
    const decision = (this.decision = decide(p, { allowEraseProtected: o.allowEraseProtected === true }));
    this.emit({ type: 'preflight', chip: p.chip, deviceId: p.deviceId, lifecycle: p.lifecycle.state, decision: decision.action, present: decision.present, missing: decision.missing });
    if (decision.error) throw decision.error;

    if (decision.action === 'alreadyProvisioned') {
      await this.verifyStep(() => verifyFromReadings(p, { identityKey: this.identityKey, implementationId: this.implementationId, bootModel: o.bootModel, tfmVersion: o.tfmVersion }), ' from the preflight readings');
      this.lifecycleAfter = p.lifecycle.state;
      return 'alreadyProvisioned';
    }
    // What an earlier run left is finished by the host: only keyless writes remain, no image is needed.
    const writer = (this.writer = decision.finishOnly ? this.host : this.requested);
    if (decision.finishOnly) {
      const left = [decision.writeImplementationId ? 'the implementation ID' : undefined, decision.writeNetworkCore ? 'the network-core lock' : undefined].filter(Boolean).join(' and ');
      this.warn(
        'FINISHING_EARLIER_RUN',
        `The lifecycle is PROVISIONING and every key is in place (an earlier run stopped after its keys): only ${left} ${o.strategy === 'image' ? 'is written, by the host (no image is needed for that)' : 'is written'}.`,
      );
    }

    const planned = await writer.plan(context);
    this.plan = planned.writes;
    this.emit({ type: 'plan', writes: this.plan });
    for (const note of planned.notes ?? []) this.warn(note.code, note.message);
    if (o.dryRun) return 'dryRun';
    for (const note of planned.writeNotes ?? []) this.warn(note.code, note.message);

    this.checkAbort();
    this.publicKey = await writer.prepare?.(context);
    if (o.beforeIrreversible) {
      await o.beforeIrreversible({
        chip: p.chip,
        deviceId: p.deviceId,
        lifecycle: p.lifecycle.state,
        plan: this.plan,
        identityPublicKey: this.publicKey && { hex: this.publicKey.hex, pem: this.publicKey.pem },
        ...(this.publicKey ? { instanceId: instanceIdUnder(fromHex(this.publicKey.hex), this.formula), instanceIdFormula: this.formula } : {}),
        implementationId: toHex(this.implementationId),
      });
    }
    this.checkAbort();
    const expectation = await writer.execute(context);
    this.publicKey = expectation.identityPublicKey;
    const bootModel = o.bootModel;
    const verification = await this.verifyStep(
      () =>
        verify(
          this.probe,
          { identityKey: this.identityKey, implementationId: this.implementationId, lifecycle: ['PROVISIONING'], bootModel, tfmVersion: o.tfmVersion, ...expectation.verify },
          {
            identity: { target: p.target, chip: p.chip, part: p.part, variant: p.variant, deviceId: p.deviceIdBytes, deviceIdHex: p.deviceId, erratum161: p.erratum161 },
            readBack: expectation.readBack,
          },
        ),
      expectation.describe({ bootModel: bootModel !== undefined }),
    );
    if (verification.lifecycle) this.lifecycleAfter = verification.lifecycle;
    await expectation.afterVerify?.();
    if (!expectation.successReported) this.emit({ type: 'message', text: SAMPLE_MESSAGES.success });
    return 'provisioned';
  }

  /** The one verify step: runs the check, reports it, and throws its error when it failed. */
  private async verifyStep(check: () => Promise<VerifyResult>, note: string): Promise<VerifiedResult> {
    return this.step('verify', async (control) => {
      const result = await check();
      this.verification = result;
      control.detail = `${result.checks.filter((k) => k.ok).length}/${result.checks.length} checks passed${note}`;
      if (!result.ok) throw new TfmError(result.error.code, result.error.message, { afterWrite: this.afterWrite, details: result.error.details });
      this.verified = result;
      return result;
    });
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

  /** The fields every outcome has. */
  private common(): ProvisionResultCommon {
    const count = this.counting.count();
    const identityWrapper = this.writer && this.context ? this.writer.identityWrapper?.(this.context) : undefined;
    return {
      strategy: this.options.strategy ?? 'host',
      implementationId: toHex(this.implementationId),
      ...(identityWrapper !== undefined ? { identityWrapper } : {}),
      simulated: this.probe.simulated,
      steps: this.steps,
      operations: count.operations,
      writes: count.nvmcWrites,
      durationMs: round(performance.now() - this.started),
      warnings: this.warnings,
    };
  }

  /** What the preflight read (it ran: every outcome but an early stop has it). */
  private preflightFacts(p: Preflight): PreflightFacts {
    return { chip: p.chip, deviceId: p.deviceId, lifecycleBefore: p.lifecycle.state, components: p.components, present: this.decision?.present ?? [], missing: this.decision?.missing ?? [] };
  }

  /** The identity key this run wrote (or the boot model reported) and its instance ID. */
  private identityFacts(): IdentityFacts {
    const publicKey = this.publicKey ?? this.verification?.identityPublicKey;
    if (!publicKey) return {};
    // The ID the TF-M the device boots will attest with (the tfmVersion option).
    return { identityPublicKey: { hex: publicKey.hex, pem: publicKey.pem }, instanceId: instanceIdUnder(fromHex(publicKey.hex), this.formula), instanceIdFormula: this.formula };
  }

  private finish(outcome: SuccessfulProvisionResult['outcome']): SuccessfulProvisionResult {
    const p = this.preflightResult!;
    const done = { ...this.common(), ...this.preflightFacts(p), ok: true as const, recovery: 'none' as const, lifecycleAfter: this.lifecycleAfter ?? p.lifecycle.state };
    if (outcome === 'dryRun') return { ...done, outcome, afterWrite: false, plan: this.plan! };
    if (outcome === 'alreadyProvisioned') return { ...done, ...this.identityFacts(), outcome, afterWrite: false, verification: this.verified! };
    return { ...done, ...this.identityFacts(), outcome, afterWrite: true, plan: this.plan!, verification: this.verified! };
  }

  /**
   * After a failure that followed a write: what the device holds now, read again (read-only), or
   * undefined when it cannot be read (probe gone, power lost, debug port locked).
   */
  private async readBack(): Promise<Decision | undefined> {
    try {
      const o = this.options;
      const p = await preflight(this.probe, { chip: o.chip, identityKey: this.identityKey, implementationId: this.implementationId });
      return decide(p, { allowEraseProtected: o.allowEraseProtected === true });
    } catch {
      return undefined;
    }
  }

  private fail(error: unknown, readBack?: Decision): RefusedResult | FailedResult {
    const tfm = protectedDeviceError(error) ?? asTfmError(error);
    const p = this.preflightResult;
    const verification = this.verification !== undefined ? { verification: this.verification } : {};
    if (this.afterWrite && p !== undefined) {
      tfm.afterWrite = true;
      // What the device holds now, not what the preflight saw before the writes.
      const { present: _present, missing: _missing, ...facts } = this.preflightFacts(p);
      // A re-run finishes a device whose keys are all in place (decide's finishOnly) or re-checks a
      // complete one; anything else has lost the keys of this run: erase-all first.
      const recovery = readBack !== undefined && (readBack.action === 'alreadyProvisioned' || readBack.finishOnly === true) ? 'rerun' : 'recover-then-rerun';
      const found =
        readBack !== undefined
          ? `Read back from the device: present ${readBack.present.join(', ') || 'nothing'}; missing ${readBack.missing.join(', ') || 'nothing'}.`
          : 'The device could not be read back.';
      const next =
        recovery === 'rerun'
          ? 'Run provision again: it finishes or re-verifies this device.'
          : `Reconnect the probe if it was lost, run \`tfm-provision recover\` (an erase-all: lifecycle and keys are destroyed), then provision again.`;
      return {
        ...this.common(),
        ...facts,
        ...(this.lifecycleAfter !== undefined ? { lifecycleAfter: this.lifecycleAfter } : {}),
        ...this.identityFacts(),
        ok: false,
        outcome: 'failed',
        plan: this.plan!,
        ...verification,
        afterWrite: true,
        recovery,
        componentsFrom: readBack !== undefined ? 'device' : 'unreadable',
        ...(readBack !== undefined ? { present: readBack.present, missing: readBack.missing } : {}),
        errorCode: tfm.code,
        error: { ...(tfm.toJSON() as TfmErrorJson), message: `${tfm.message} ${found} ${next}` },
      };
    }
    // A refusal (or a failure before the first write) leaves the device as it was; a key never reached it.
    const stopped: Omit<RefusedResult, 'outcome'> = {
      ...this.common(),
      ...(p !== undefined ? { ...this.preflightFacts(p), lifecycleAfter: p.lifecycle.state, componentsFrom: 'preflight' as const } : {}),
      ...(this.plan !== undefined ? { plan: this.plan } : {}),
      ...verification,
      ok: false,
      afterWrite: false,
      recovery: recoveryBeforeWrite(tfm),
      errorCode: tfm.code,
      error: tfm.toJSON() as TfmErrorJson,
    };
    return tfm.category === 'refused' || tfm.category === 'usage' ? { ...stopped, outcome: 'refused' } : { ...stopped, outcome: 'failed' };
  }
}

/** Before any write: an erase-all when the device holds an earlier run's half (decide's advice), a
 *  re-run for a probe or connection problem or a stop, nothing a re-run would change otherwise. */
export function recoveryBeforeWrite(error: TfmError): Recovery {
  if ((error.details as { recovery?: unknown } | undefined)?.recovery === 'eraseAll' || error.code === 'DEVICE_PROTECTED') return 'recover-then-rerun';
  if (error.category === 'environment' || error.code === 'INTERRUPTED') return 'rerun';
  return 'none';
}

/** The advice for an error that ended an attempt outside a run's own result (the station's lock or
 *  open, an exception): after a write the device state is unknown, so an erase-all comes first. */
export function recoveryForError(error: TfmError): Recovery {
  return error.afterWrite ? 'recover-then-rerun' : recoveryBeforeWrite(error);
}
