/**
 * The strategy interface: what a way of provisioning supplies to one provisioning run (run.ts).
 *
 * The run owns everything both ways share: options that apply to all, preflight and decision, the
 * plan event, dry runs, abort, afterWrite, the one beforeIrreversible call, the one verify step, the
 * closing Success! line and the result. A strategy supplies only the middle: its own option checks,
 * its plan, any secrets it makes before the first write, the writes themselves, and what verify
 * should expect. Host (strategies/host.ts) and image (strategies/image.ts) implement it side by side;
 * dependencies run one way (strategies -> this interface; run.ts -> strategies through it).
 */
import type { ProbeSession } from '../probe/types';
import type { LifecycleState } from '../targets/lifecycle';
import type { IdentityPublicKey } from '../keys/identity';
import type { KmuSlotReading } from '../device/kmu';
import type { NetworkCoreReading } from '../device/network-core';
import type { Decision } from './decide';
import type { ProvisionEvent, WarningCode } from './events';
import type { Preflight } from './preflight';
import type { PlannedWrite, ProvisionOptions, StepName, VerifyOptions } from './types';

/** What a step body may say about itself in its StepReport. */
export interface StepControl {
  detail?: string;
  skipped?: boolean;
}

/** What the run lends a strategy before preflight: the options and the run's warnings. */
export interface OptionsContext {
  readonly options: ProvisionOptions;
  readonly identityKey: 'generate' | 'skip';
  readonly implementationId: Uint8Array;
  /** The session is simulated (seeded randomness and model wrappers are allowed). */
  readonly simulated: boolean;
  warn(code: WarningCode, message: string): void;
}

/** What the run lends a strategy after the decision: its (operation-counting) probe, steps and state. */
export interface RunContext extends OptionsContext {
  readonly probe: ProbeSession;
  readonly preflight: Preflight;
  readonly decision: Decision;
  step<T>(name: StepName, body: (control: StepControl) => Promise<T>): Promise<T>;
  emit(event: ProvisionEvent): void;
  /** Before the first write: stops the run (INTERRUPTED). After it: reported once, and the run goes on. */
  checkAbort(): void;
  /** From now on the device may hold irreversible state, even if the write call in progress fails. */
  markAfterWrite(): void;
  /** The network core's lock is begun: the run leaves RESET.NETWORK.FORCEOFF released. */
  markNetworkCoreLock(): void;
  /** The lifecycle read back after a write (reported if a later step fails). */
  noteLifecycle(state: LifecycleState): void;
}

export interface PlanNote {
  code: WarningCode;
  message: string;
}

export interface StrategyPlan {
  writes: PlannedWrite[];
  /** Warnings about the plan, emitted right after the plan event (dry runs included). */
  notes?: PlanNote[];
  /** Warnings that apply only when the run goes on to write (not on a dry run). */
  writeNotes?: PlanNote[];
}

/** What verify expects after the strategy's writes (the run adds implementation ID, lifecycle, boot model). */
export interface Expectation {
  verify: Pick<VerifyOptions, 'identityKeyCheck' | 'identityBlob' | 'identityPublicKey'>;
  /**
   * The write steps' read-backs that nothing can have changed before verify (only the host
   * strategy has them: no firmware ran, the application core stayed halted since preflight). Verify
   * takes these instead of reading the same words again; docs/performance.md says why that holds.
   */
  readBack?: { halted: boolean; slots: KmuSlotReading[]; networkCore?: NetworkCoreReading };
  /** The verify step's detail after "n/m checks passed". */
  describe(options: { bootModel: boolean }): string;
  /** The identity public key, when the strategy knows it (host: generated; image: printed by the image). */
  identityPublicKey?: IdentityPublicKey;
  /** The sample's Success! was already relayed from the device's console: the run does not repeat it. */
  successReported?: boolean;
  /** Runs after a passing verification (the image strategy starts an application image). */
  afterVerify?(): Promise<void>;
}

export interface ProvisioningStrategy {
  readonly name: 'host' | 'image';
  /** Checks the options only this strategy reads; throws before anything touches the probe. */
  checkOptions(context: OptionsContext): void;
  /** The writes this run makes (nothing is written; it may read, e.g. image files). */
  plan(context: RunContext): Promise<StrategyPlan>;
  /** Secrets needed before the first write (host: the keys); their public part for beforeIrreversible. */
  prepare?(context: RunContext): Promise<IdentityPublicKey | undefined>;
  /** The irreversible part, each write read back. Returns what verify must find. */
  execute(context: RunContext): Promise<Expectation>;
  /** The wrapper name the result reports, when this strategy wrapped an identity key. */
  identityWrapper?(context: RunContext): string | undefined;
  /** Zeroes what the strategy holds; called once, on every path. */
  destroy?(): void;
}
