/**
 * One provisioning attempt against the registry, beside its local records (AttemptRecorder):
 *
 *   beforeIrreversible:  reserve (quota + device row + intent, one transaction)
 *                        -> the local intent record (fsynced) -> begin (the device is about to be written)
 *   after the run:       complete (result + the device's new state, one transaction)
 *
 * Any failure up to `begin` throws, so provision() writes nothing: QUOTA_EXHAUSTED, LOT_NOT_FOUND,
 * DEVICE_ALREADY_REGISTERED, REGISTRY_UNAVAILABLE. A reservation taken but not begun is released
 * (or, when the registry is gone, left for `registry reap`, which releases it: nothing was written).
 * After `begin`, the run finishes whatever the registry does; a completion that cannot reach the
 * registry is a warning, the result stays in the local records, and `registry sync` replays it.
 */
import { TfmError, asTfmError } from '../errors';
import type { IrreversibleContext, ProvisionResult } from '../provision/types';
import type { AttemptRecorder } from '../records/attempt';
import type { IntentInput, ResultInput, ResultRecord } from '../records/format';
import type { CompletionRequest, QuotaState, Registry, Reservation } from './types';

export interface RegistryAttemptOptions {
  registry: Registry;
  lot: string;
  /** This station's ID (its key ID): who holds the reservation. */
  station: string;
}

/** A completion request from a result record (or what it would say): the run's hook and `registry sync` share it. */
export function completionOf(result: ResultInput | ResultRecord, extra: { station?: string; lot?: string } = {}): CompletionRequest {
  return {
    attempt: result.attempt,
    outcome: result.outcome,
    verified: result.verified,
    wroteDevice: result.wroteDevice,
    ...(result.chip !== undefined ? { chip: result.chip } : {}),
    ...(result.deviceId !== undefined ? { deviceId: result.deviceId } : {}),
    ...(result.identityPublicKey !== undefined ? { identityPublicKey: result.identityPublicKey } : {}),
    ...(result.instanceId !== undefined ? { instanceId: result.instanceId } : {}),
    ...(result.instanceIdFormula !== undefined ? { instanceIdFormula: result.instanceIdFormula } : {}),
    ...(result.implementationId !== undefined ? { implementationId: result.implementationId } : {}),
    ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}),
    result: { ...result } as Record<string, unknown>,
    probeSerial: result.probeSerial,
    ...(extra.station !== undefined ? { station: extra.station } : {}),
    ...(extra.lot !== undefined ? { lot: extra.lot } : {}),
  };
}

export class RegistryAttempt {
  private reservation?: Reservation;
  private begun = false;
  /** The lot's quota as last seen (after the reservation, then after the completion). */
  quota?: QuotaState;

  constructor(
    private readonly options: RegistryAttemptOptions,
    private readonly recorder: AttemptRecorder,
  ) {}

  get reserved(): boolean {
    return this.reservation !== undefined;
  }

  get resumed(): boolean {
    return this.reservation?.resumed === true;
  }

  /** provision()'s beforeIrreversible: reserve, then `writeIntent` (the local record), then begin. */
  async beforeIrreversible(context: IrreversibleContext, writeIntent: () => Promise<void>): Promise<void> {
    const { registry, lot, station } = this.options;
    const intent: IntentInput = this.recorder.intentInput(context);
    this.reservation = await registry.reserve({
      lot,
      attempt: this.recorder.attempt,
      chip: context.chip,
      deviceId: context.deviceId,
      station,
      probeSerial: this.recorder.facts.probeSerial,
      implementationId: context.implementationId,
      ...(context.identityPublicKey !== undefined ? { identityPublicKey: context.identityPublicKey.hex } : {}),
      ...(context.instanceId !== undefined ? { instanceId: context.instanceId } : {}),
      ...(context.instanceIdFormula !== undefined ? { instanceIdFormula: context.instanceIdFormula } : {}),
      intent: { type: 'intent', ...intent },
    });
    this.quota = this.reservation.quota;
    try {
      await writeIntent();
    } catch (error) {
      await registry.release(this.recorder.attempt, 'the local intent record could not be written').catch(() => undefined);
      throw error;
    }
    try {
      await registry.begin(this.recorder.attempt);
    } catch (error) {
      await registry.release(this.recorder.attempt, 'begin failed').catch(() => undefined);
      const e = asTfmError(error);
      throw e.code === 'REGISTRY_UNAVAILABLE' ? e : new TfmError('REGISTRY_UNAVAILABLE', `${e.message} Nothing was written.`, { cause: e, details: e.details });
    }
    this.begun = true;
  }

  /**
   * Reports the attempt's end. Never throws: a registry that is gone (or refuses) gives a warning
   * message (the result is in the local records for `registry sync`); undefined when it took it.
   */
  async complete(result: ResultInput | ResultRecord): Promise<string | undefined> {
    const { registry, lot, station } = this.options;
    try {
      const done = await registry.complete(completionOf(result, { station, lot }));
      if (done.quota !== undefined) this.quota = done.quota;
      return undefined;
    } catch (error) {
      const e = asTfmError(error);
      if (!this.begun && !this.reserved) return `the registry did not take the result of attempt ${result.attempt} (${e.code}): it is in the local records`;
      return `the registry ${registry.description} did not take the result of device ${result.deviceId ?? '?'} (${e.code}): it is kept in the local records; replay it with \`tfm-provision registry sync RECORDS\``;
    }
  }

}
