/**
 * Typed events of a provisioning run. Events carry names, addresses, states, timings and public
 * values only: never key bytes (not even placeholders' contents), so they can go to logs and JSON Lines.
 */
import type { ChipName } from '../targets';
import type { LifecycleState } from '../device/lifecycle';
import type { ComponentName, PlannedWrite, StepName } from './vocabulary';

import type { SampleMessage } from '../targets/provisioning-sample';

// The sample's lines are target facts (lib/targets/provisioning-sample.ts); re-exported for the
// public API, which has always offered them beside the events that carry them.
export { SAMPLE_MESSAGES, type SampleMessage } from '../targets/provisioning-sample';

export type WarningCode =
  | 'MODEL_WRAPPER_ON_HARDWARE'
  | 'IDENTITY_KEY_SKIPPED'
  | 'ERASE_PROTECT_ENABLED'
  | 'NETWORK_CORE_NOT_READABLE'
  | 'OTHER_KMU_SLOT_IN_USE'
  | 'IMPLEMENTATION_ID_ALREADY_WRITTEN'
  | 'NETWORK_CORE_ALREADY_LOCKED'
  | 'ABORT_AFTER_FIRST_WRITE'
  | 'BOOT_MODEL_UNAVAILABLE'
  | 'NETWORK_CORE_NOT_HELD'
  | 'FINISHING_EARLIER_RUN'
  // image strategy
  | 'IMAGE_NOT_RECOGNISED'
  | 'IMAGE_CONSOLE_NOT_FOUND'
  | 'IMAGE_LEFT_IN_FLASH';

export type ProvisionEvent =
  | { type: 'stepBegin'; step: StepName; startedAt: string }
  | { type: 'stepEnd'; step: StepName; ok: boolean; durationMs: number; operations: number; skipped?: boolean; detail?: string }
  /** One of the sample's five lines, emitted at the point where the sample logs it. */
  | { type: 'message'; text: SampleMessage }
  | { type: 'warning'; code: WarningCode; message: string }
  | {
      type: 'preflight';
      chip: ChipName;
      deviceId: string;
      lifecycle: LifecycleState;
      decision: 'provision' | 'alreadyProvisioned' | 'refuse';
      present: ComponentName[];
      missing: ComponentName[];
    }
  | { type: 'plan'; writes: PlannedWrite[] }
  /** Image strategy: a console line of the running image (other than the sample's five messages). */
  | { type: 'console'; core: 'application' | 'network'; text: string }
  /** Image strategy: the console was found (RTT control block located). */
  | { type: 'imageConsole'; core: 'application' | 'network'; source: 'rtt' | 'serial'; description: string }
  /** Image strategy: what polling the chip shows while the image runs (changes only). */
  | { type: 'imageProgress'; core: 'application' | 'network'; lifecycle?: LifecycleState; implementationIdWritten?: boolean; networkApprotect?: number; complete: boolean };

export type ProvisionEventType = ProvisionEvent['type'];
export type ProvisionEventOf<T extends ProvisionEventType> = Extract<ProvisionEvent, { type: T }>;

/**
 * A small typed emitter. Listener errors are swallowed: a broken log consumer must never stop a
 * sequence half way through its irreversible writes.
 */
export class ProvisionEvents {
  private readonly byType = new Map<ProvisionEventType, Set<(event: ProvisionEvent) => void>>();
  private readonly any = new Set<(event: ProvisionEvent) => void>();

  on<T extends ProvisionEventType>(type: T, listener: (event: ProvisionEventOf<T>) => void): () => void {
    let set = this.byType.get(type);
    if (!set) this.byType.set(type, (set = new Set()));
    const l = listener as (event: ProvisionEvent) => void;
    set.add(l);
    return () => set!.delete(l);
  }

  onAny(listener: (event: ProvisionEvent) => void): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  emit(event: ProvisionEvent): void {
    for (const listener of [...(this.byType.get(event.type) ?? []), ...this.any]) {
      try {
        listener(event);
      } catch {
        // see class comment
      }
    }
  }
}
