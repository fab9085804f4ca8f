/**
 * The factory station: many probes, one worker per probe, all asynchronous. Each worker owns its
 * probe (lock, session) and runs the provisioning sequence; the records, the live view and the
 * summary are fed from the workers' events. Nothing here blocks the event loop: probe calls are
 * promises served by the addon's per-probe worker threads (or the simulator's timers), and record
 * appends use the libuv pool.
 *
 * Guarantees:
 *  - one device failing never stops the others: every worker's errors end in its own outcome;
 *  - an intent record is durable before a device's first irreversible write (beforeIrreversible),
 *    and a result record follows every attempt;
 *  - an abort (Ctrl-C) stops workers from starting, stops runs that have not written yet, and lets
 *    runs that have begun writing finish (provision() only honours the signal before its first
 *    irreversible write), so no device is left between two writes of one slot.
 */
import { randomUUID } from 'node:crypto';
import { acquireProbeLock, type ProbeLock } from './probe-lock';
import { AbortFanOut, sleepUnless } from './abort-fan-out';
import { identifyChip } from '../device/ficr';
import { EXIT, exitCodeFor } from '../exit-codes';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { provision as provisionDevice } from '../provision';
import type { ProvisionEvent } from '../provision/events';
import type { IrreversibleContext, ProvisionResult } from '../provision/types';
import { recoveryForError } from '../provision/run';
import type { ChipName } from '../targets';
import type { LifecycleState } from '../targets/lifecycle';
import { AttemptRecorder, RecordWriter, type ResultRecord } from '../records';
import type { ResultInput } from '../records/format';
import { RegistryAttempt } from '../registry/attempt';
import { openRegistry } from '../registry/open';
import { stationIdentity } from '../registry/pg';
import type { QuotaState, Registry } from '../registry/types';
import type { DeviceFailed, DeviceOutcome, DeviceRefused, StationSummary, StationEvent, ProvisionFunction, WatchOptions, StationOptions } from './types';

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs a station to completion (or until stopped) and returns its summary. Never throws for a device. */
export async function runStation(options: StationOptions): Promise<StationSummary> {
  const station = new Station(options);
  return station.run();
}

class Station {
  private readonly options: StationOptions;
  private readonly provisionFn: ProvisionFunction;
  private readonly toolVersion: string;
  private readonly devices: DeviceOutcome[] = [];
  private readonly recordErrors: string[] = [];
  private records: RecordWriter | undefined;
  /** Stops watching and starting; aborted by the caller's signal, max devices or duration. */
  private readonly stop = new AbortController();
  /** Handed to provision(): aborted only by the caller's signal (Ctrl-C), so reaching --max-devices
   *  or --duration never cuts short a device that is already being provisioned. */
  private readonly abortRuns = new AbortController();
  /** One listener on each of the two signals above, fanned out to the runs and polls in flight. */
  private readonly stopWaits = new AbortFanOut(this.stop.signal);
  private readonly runAborts = new AbortFanOut(this.abortRuns.signal);
  private stopReason: 'signal' | 'maxDevices' | 'duration' | undefined;
  private started = 0;
  private readonly seen = new Set<string>();
  private readonly startedAt = Date.now();
  private registry: Registry | undefined;
  private stationId = '';
  private lastQuota: StationSummary['quota'];

  constructor(options: StationOptions) {
    this.options = options;
    this.provisionFn = options.provisionFn ?? provisionDevice;
    this.toolVersion = options.toolVersion ?? packageVersion();
  }

  private emit(event: StationEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken view must never stop a device in the middle of its writes.
    }
  }

  private halt(reason: 'signal' | 'maxDevices' | 'duration'): void {
    if (this.stop.signal.aborted) return;
    this.stopReason = reason;
    this.emit({ type: 'stopping', reason });
    this.stop.abort();
  }

  async run(): Promise<StationSummary> {
    const { options } = this;
    const serials = options.serialNumbers ?? (await options.binding.list()).map((p) => p.serialNumber);
    const parallel = Math.max(1, Math.min(options.parallel ?? serials.length, serials.length || 1));
    const watch = options.watch !== undefined && options.watch !== false ? options.watch : undefined;

    if (options.records instanceof RecordWriter) this.records = options.records;
    else if (typeof options.records === 'string') {
      this.records = await RecordWriter.open(options.records, {
        signer: options.stationKey,
        onRepair: (info) => this.emit({ type: 'notice', message: `record file: cut off ${info.removedBytes} bytes of an interrupted append` }),
      });
    }

    let closeRegistry: (() => Promise<void>) | undefined;
    if (options.registry !== undefined) {
      if (options.lot === undefined || options.lot === '') throw new TfmError('USAGE', 'A registry needs a lot: --lot NAME (or TFM_PROVISION_LOT).');
      const opened = openRegistry(options.registry);
      this.registry = opened.registry;
      if (opened.owned) closeRegistry = () => opened.registry.close();
      const identity = stationIdentity({ keyId: options.stationKey?.keyId, publicKeyPem: options.stationKey?.publicKeyPem, toolVersion: this.toolVersion });
      this.stationId = identity.stationId;
      try {
        await this.registry.registerStation(identity);
        this.emitQuota(await this.registry.quota(options.lot));
      } catch (error) {
        // Each device finds out for itself (and is refused before its first write).
        const e = asTfmError(error);
        this.emit({ type: 'notice', code: e.code, message: `registry: ${e.message}` });
      }
    }

    const onCallerAbort = (): void => {
      this.halt('signal');
      this.abortRuns.abort();
    };
    if (options.signal?.aborted === true) onCallerAbort();
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let durationTimer: NodeJS.Timeout | undefined;
    if (watch?.durationMs !== undefined) durationTimer = setTimeout(() => this.halt('duration'), watch.durationMs);

    this.emit({ type: 'stationStart', probes: serials, parallel, watch: watch !== undefined, records: this.records?.path });
    try {
      const queue = [...serials];
      const worker = async (): Promise<void> => {
        for (let serial = queue.shift(); serial !== undefined; serial = queue.shift()) {
          if (this.stop.signal.aborted && watch === undefined) {
            this.devices.push(this.skipped(serial));
            continue;
          }
          await (watch !== undefined ? this.watchProbe(serial, watch) : this.provisionProbe(serial));
        }
      };
      await Promise.all(Array.from({ length: parallel }, () => worker()));
    } finally {
      if (durationTimer !== undefined) clearTimeout(durationTimer);
      options.signal?.removeEventListener('abort', onCallerAbort);
      if (this.records !== undefined && !(options.records instanceof RecordWriter)) await this.records.close();
      await closeRegistry?.();
    }
    return this.summary();
  }

  private summary(): StationSummary {
    const counts = { passed: 0, alreadyProvisioned: 0, refused: 0, failed: 0, interrupted: 0 };
    for (const d of this.devices) {
      if (d.outcome === 'provisioned' || d.outcome === 'dryRun') counts.passed++;
      else if (d.outcome === 'alreadyProvisioned') counts.alreadyProvisioned++;
      else if (d.outcome === 'refused') counts.refused++;
      else if (d.outcome === 'interrupted') counts.interrupted++;
      else counts.failed++;
    }
    const durationMs = Date.now() - this.startedAt;
    const done = counts.passed + counts.alreadyProvisioned;
    return {
      ok: counts.refused === 0 && counts.failed === 0 && this.recordErrors.length === 0 && this.stopReason !== 'signal',
      interrupted: this.stopReason === 'signal',
      counts,
      devices: this.devices,
      durationMs,
      devicesPerMinute: durationMs > 0 ? (done * 60_000) / durationMs : 0,
      records: this.records?.path,
      recordErrors: this.recordErrors,
      ...(this.registry !== undefined ? { quota: this.lastQuota, registryDeferred: this.devices.filter((d) => d.registry === 'deferred').length } : {}),
    };
  }

  private skipped(serial: number): DeviceOutcome {
    return {
      attempt: randomUUID(),
      probeSerial: serial,
      outcome: 'interrupted',
      ok: false,
      started: false,
      errorCode: 'INTERRUPTED',
      error: 'Not started: the station was stopped.',
      afterWrite: false,
      category: 'device',
      recovery: 'rerun',
      durationMs: 0,
      startedAt: new Date().toISOString(),
    };
  }

  private async lock(serial: number): Promise<ProbeLock | undefined> {
    if (this.options.lockProbes === false) return undefined;
    return acquireProbeLock(serial, { backend: this.options.binding.backend, purpose: 'station', env: this.options.env, scope: this.options.lockScope });
  }

  /** One device on one probe: lock, open, provision, close. */
  private async provisionProbe(serial: number): Promise<void> {
    const recorder = this.recorder(serial, undefined);
    this.emit({ type: 'deviceStart', probe: serial, attempt: recorder.attempt });
    let lock: ProbeLock | undefined;
    let session: ProbeSession | undefined;
    try {
      lock = await this.lock(serial);
      session = await this.options.binding.open(serial);
    } catch (error) {
      // Lock or open failed: nothing was written.
      await this.finishWithError(serial, recorder, error);
      await session?.close().catch(() => undefined);
      await lock?.release().catch(() => undefined);
      return;
    }
    try {
      await this.provisionSession(serial, session, this.recorder(serial, session, recorder));
    } finally {
      await session.close().catch(() => undefined);
      await lock?.release().catch(() => undefined);
    }
  }

  /** A recorder for one attempt; with a session, its backend facts replace the binding's. */
  private recorder(serial: number, session: ProbeSession | undefined, previous?: AttemptRecorder): AttemptRecorder {
    if (previous !== undefined) {
      previous.facts.backend = session?.backend ?? previous.facts.backend;
      previous.facts.simulated = session?.simulated ?? previous.facts.simulated;
      return previous;
    }
    return new AttemptRecorder(this.records, {
      probeSerial: serial,
      backend: session?.backend ?? this.options.binding.backend,
      simulated: session?.simulated ?? this.options.binding.backend === 'sim',
      strategy: this.options.provision?.strategy ?? 'host',
      toolVersion: this.toolVersion,
    });
  }

  private emitQuota(quota: QuotaState | undefined, probe?: number): void {
    if (quota === undefined || this.options.lot === undefined) return;
    this.lastQuota = { lot: this.options.lot, ...quota };
    this.emit({ type: 'quota', lot: this.options.lot, ...quota, ...(probe !== undefined ? { probe } : {}) });
  }

  private registryAttempt(recorder: AttemptRecorder): RegistryAttempt | undefined {
    if (this.registry === undefined) return undefined;
    return new RegistryAttempt({ registry: this.registry, lot: this.options.lot!, station: this.stationId }, recorder);
  }

  /** Hands the attempt's result to the registry (never throws); a registry that did not take it is a warning. */
  private async completeInRegistry(outcome: DeviceOutcome, attempt: RegistryAttempt | undefined, result: ResultInput | ResultRecord): Promise<void> {
    if (attempt === undefined) return;
    const before = attempt.quota?.left;
    const warning = await attempt.complete(result);
    outcome.registry = warning === undefined ? 'completed' : 'deferred';
    if (attempt.quota !== undefined) outcome.quotaLeft = attempt.quota.left;
    if (warning !== undefined && (attempt.reserved || outcome.afterWrite)) this.emit({ type: 'notice', probe: outcome.probeSerial, code: 'REGISTRY_DEFERRED', message: warning });
    if (attempt.quota !== undefined && (attempt.reserved || attempt.quota.left !== before)) this.emitQuota(attempt.quota, outcome.probeSerial);
  }

  private async finishWithError(serial: number, recorder: AttemptRecorder, error: unknown, device?: Identified, registryAttempt?: RegistryAttempt): Promise<DeviceOutcome> {
    const e = asTfmError(error);
    const f = recorder.facts;
    const common = {
      attempt: recorder.attempt,
      probeSerial: serial,
      ok: false as const,
      ...device,
      error: e.message,
      category: e.category,
      recovery: recoveryForError(e),
      durationMs: Date.now() - Date.parse(f.startedAt),
      startedAt: f.startedAt,
    };
    const outcome: DeviceOutcome =
      e.code === 'INTERRUPTED' && !e.afterWrite
        ? { ...common, outcome: 'interrupted', started: true, errorCode: 'INTERRUPTED', afterWrite: false }
        : !e.afterWrite && (e.category === 'refused' || e.category === 'usage')
          ? { ...common, outcome: 'refused', started: true, errorCode: e.code, afterWrite: false }
          : { ...common, outcome: 'failed', started: true, errorCode: e.code, afterWrite: e.afterWrite };
    await this.record(outcome, () => recorder.failure(e), async (written) => this.completeInRegistry(outcome, registryAttempt, written ?? recorder.failureInput(e)));
    return outcome;
  }

  /** Runs provision() on an open session, with the intent record as its beforeIrreversible hook. */
  private async provisionSession(serial: number, session: ProbeSession, recorder: AttemptRecorder): Promise<DeviceOutcome> {
    const attempt = recorder.attempt;
    let identified: Identified | undefined;
    const onEvent = (event: ProvisionEvent): void => {
      recorder.observe(event);
      if (event.type === 'preflight' && identified === undefined) {
        identified = { chip: event.chip, deviceId: event.deviceId, lifecycleBefore: event.lifecycle };
        this.emit({ type: 'deviceIdentified', probe: serial, attempt, chip: event.chip, deviceId: event.deviceId });
      }
      this.emit({ type: 'provision', probe: serial, attempt, event });
    };
    const registryAttempt = this.registryAttempt(recorder);
    const writeIntent = async (context: IrreversibleContext): Promise<void> => {
      // Durable before the first irreversible write: if this throws, provision() writes nothing.
      await recorder.intent(context);
      if (recorder.hasIntent) this.emit({ type: 'intentRecorded', probe: serial, attempt });
    };
    // With a registry: its reservation first (no unit, no write), then the local intent, then begin.
    const beforeIrreversible = async (context: IrreversibleContext): Promise<void> => {
      if (registryAttempt === undefined) return writeIntent(context);
      await registryAttempt.beforeIrreversible(context, () => writeIntent(context));
      this.emitQuota(registryAttempt.quota, serial);
    };

    let result: ProvisionResult;
    // The run's own signal: aborted with the station's, and unsubscribed when this run ends.
    const runAbort = this.runAborts.child();
    try {
      const random = this.options.randomFor?.(serial);
      result = await this.provisionFn(session, {
        ...this.options.provision,
        ...this.options.deviceOptions?.(serial),
        ...(random !== undefined ? { random } : {}),
        signal: runAbort.signal,
        beforeIrreversible,
        onEvent,
      });
    } catch (error) {
      return this.finishWithError(serial, recorder, error, identified, registryAttempt);
    } finally {
      runAbort.release();
    }
    const outcome = deviceOutcome(result, { attempt, probeSerial: serial, durationMs: Date.now() - Date.parse(recorder.facts.startedAt), startedAt: recorder.facts.startedAt });
    await this.record(outcome, () => recorder.result(result), async (written) => this.completeInRegistry(outcome, registryAttempt, written ?? recorder.resultInput(result)));
    return outcome;
  }

  /** Appends the result record (a failure to append is reported, never thrown) and reports the device. */
  private async record(
    outcome: DeviceOutcome,
    append: () => Promise<ResultRecord | undefined>,
    registry?: (written: ResultRecord | undefined) => Promise<void>,
  ): Promise<void> {
    let written: ResultRecord | undefined;
    try {
      written = await append();
    } catch (error) {
      this.recordErrors.push(`probe ${outcome.probeSerial}: ${(error as Error).message}`);
      this.emit({ type: 'notice', probe: outcome.probeSerial, message: `result record not written: ${(error as Error).message}` });
    }
    // The registry takes the result as the local record has it (after the record, so a replay by
    // `registry sync` finds the same attempt).
    await registry?.(written);
    this.devices.push(outcome);
    this.emit({ type: 'deviceEnd', probe: outcome.probeSerial, device: outcome });
  }

  /**
   * Watch mode on one probe: wait for a device this run has not seen, provision it, wait for it to
   * be removed, repeat, until stopped. The session stays open across polls (opening a probe can
   * take long on real hardware); a failed poll closes it and the next poll opens it again.
   */
  private async watchProbe(serial: number, watch: WatchOptions): Promise<void> {
    const pollMs = watch.pollMs ?? 500;
    let lock: ProbeLock | undefined;
    try {
      lock = await this.lock(serial);
    } catch (error) {
      await this.finishWithError(serial, this.recorder(serial, undefined), error);
      return;
    }
    let session: ProbeSession | undefined;
    const closeSession = async (): Promise<void> => {
      const s = session;
      session = undefined;
      await s?.close().catch(() => undefined);
    };
    /** The device ID now at the probe, or undefined when none answers. */
    const look = async (): Promise<string | undefined> => {
      try {
        session ??= await this.options.binding.open(serial);
        return (await identifyChip(session)).deviceIdHex;
      } catch {
        await closeSession();
        return undefined;
      }
    };
    try {
      while (!this.stop.signal.aborted) {
        this.emit({ type: 'waitingForDevice', probe: serial });
        let deviceId: string | undefined;
        while (!this.stop.signal.aborted) {
          deviceId = await look();
          if (deviceId !== undefined && !this.seen.has(deviceId)) break;
          deviceId = undefined;
          await sleepUnless(pollMs, this.stopWaits);
        }
        if (deviceId === undefined || this.stop.signal.aborted || session === undefined) break;
        if (watch.maxDevices !== undefined && this.started >= watch.maxDevices) break;
        this.seen.add(deviceId);
        this.started++;
        if (watch.maxDevices !== undefined && this.started >= watch.maxDevices) this.halt('maxDevices');

        const recorder = this.recorder(serial, session);
        this.emit({ type: 'deviceStart', probe: serial, attempt: recorder.attempt });
        const outcome = await this.provisionSession(serial, session, recorder);
        if (!outcome.ok && (outcome.errorCode === 'PROBE_DISCONNECTED' || outcome.errorCode === 'CANNOT_CONNECT')) await closeSession();

        this.emit({ type: 'waitingForRemoval', probe: serial, deviceId });
        while (!this.stop.signal.aborted) {
          const now = await look();
          if (now !== deviceId) break;
          await sleepUnless(pollMs, this.stopWaits);
        }
      }
    } finally {
      await closeSession();
      await lock?.release().catch(() => undefined);
    }
  }
}

type Identified = { chip: ChipName; deviceId: string; lifecycleBefore: LifecycleState };

/** A device's outcome from its provision() result: the same union, flattened for the summary. */
function deviceOutcome(result: ProvisionResult, common: { attempt: string; probeSerial: number; durationMs: number; startedAt: string }): DeviceOutcome {
  if (result.ok) {
    const identity = result.outcome !== 'dryRun' && result.identityPublicKey ? { identityPublicKey: result.identityPublicKey.hex, instanceId: result.instanceId } : {};
    return {
      ...common,
      outcome: result.outcome,
      ok: true,
      started: true,
      chip: result.chip,
      deviceId: result.deviceId,
      lifecycleBefore: result.lifecycleBefore,
      lifecycleAfter: result.lifecycleAfter,
      ...identity,
      afterWrite: result.afterWrite,
    };
  }
  const failed = {
    ...common,
    ok: false as const,
    started: true as const,
    ...(result.chip !== undefined ? { chip: result.chip } : {}),
    ...(result.deviceId !== undefined ? { deviceId: result.deviceId } : {}),
    ...(result.lifecycleBefore !== undefined ? { lifecycleBefore: result.lifecycleBefore } : {}),
    ...(result.lifecycleAfter !== undefined ? { lifecycleAfter: result.lifecycleAfter } : {}),
    error: result.error.message,
    category: result.error.category,
    recovery: result.recovery,
  };
  if (result.afterWrite) {
    const identity = result.identityPublicKey ? { identityPublicKey: result.identityPublicKey.hex, instanceId: result.instanceId } : {};
    return { ...failed, ...identity, outcome: 'failed', errorCode: result.errorCode, afterWrite: true };
  }
  if (result.errorCode === 'INTERRUPTED') return { ...failed, outcome: 'interrupted', errorCode: 'INTERRUPTED', afterWrite: false };
  return result.outcome === 'refused' ? { ...failed, outcome: 'refused', errorCode: result.errorCode, afterWrite: false } : { ...failed, outcome: 'failed', errorCode: result.errorCode, afterWrite: false };
}

/** Exit code for a station summary: the worst among its devices (see lib/exit-codes.ts). */
export function stationExitCode(summary: StationSummary): number {
  const error = stationError(summary);
  return error === undefined ? EXIT.OK : exitCodeFor(error);
}

/**
 * The error a station run ends with, or undefined when every device passed: the worst device
 * decides (failed after writing, internal, environment, refused, then interrupted), so the exit
 * code says the most important thing that happened.
 */
export function stationError(summary: StationSummary): TfmError | undefined {
  const failed = summary.devices.filter((d): d is DeviceFailed => d.outcome === 'failed');
  const count = (n: number, what: string): string => `${n} of ${summary.devices.length} device${summary.devices.length === 1 ? '' : 's'} ${what}`;
  const pick = (list: Array<DeviceFailed | DeviceRefused>, afterWrite: boolean, message: string): TfmError => {
    const first = list[0]!;
    return new TfmError(first.errorCode, `${message} (first: probe ${first.probeSerial}: ${first.error}).`, {
      afterWrite,
      details: { probes: list.map((d) => d.probeSerial) },
    });
  };
  const afterWrite = failed.filter((d) => d.afterWrite || d.category === 'device');
  if (afterWrite.length > 0) return pick(afterWrite, true, `${count(afterWrite.length, 'failed')}, some after writing: they may be partly provisioned; see the records`);
  const internal = failed.filter((d) => d.category === 'internal');
  if (internal.length > 0) return pick(internal, false, count(internal.length, 'failed with an internal error'));
  if (failed.length > 0) return pick(failed, false, `${count(failed.length, 'failed')} before writing (probe or connection)`);
  if (summary.recordErrors.length > 0) {
    return new TfmError('FILE_ERROR', `The record file could not be completed: ${summary.recordErrors[0]}`, { details: { recordErrors: summary.recordErrors } });
  }
  const refused = summary.devices.filter((d): d is DeviceRefused => d.outcome === 'refused');
  if (refused.length > 0) return pick(refused, false, `${count(refused.length, 'refused')}; nothing was written to them`);
  const waiting = summary.devices.filter((d) => d.outcome === 'interrupted').length;
  // Stopped, but every device had already been started and finished: nothing was left undone (the
  // CLI still exits 128+N after a signal, cli/shutdown).
  if (summary.interrupted && waiting > 0) {
    // The caller's signal says only that the run must stop: a Ctrl-C, a SIGTERM from a supervisor
    // or a closed output (`| head`), so the message does not claim an operator.
    return new TfmError('INTERRUPTED', `Stopped (a signal, or the output was closed) before every device was started; ${waiting} device${waiting === 1 ? '' : 's'} left untouched, writes in flight were finished.`);
  }
  return undefined;
}
