/**
 * What the simulator's parts share: the target's facts, the virtual clock and the violation log.
 * Each part (nvm, kmu, ctrl-ap, scheduler) gets this instead of the whole device, so the parts never
 * import device.ts and the device composes them.
 */
import type { Target } from '../targets';
import type { SimCoreName, SimViolationKind } from './types';

/** Who made an access: the debug probe, or a firmware model running on the simulated CPU. */
export type By = 'probe' | 'firmware';

/** The virtual clock in microseconds (owned by the scheduler). */
export interface Clock {
  nowUs: number;
}

export interface PartContext {
  readonly target: Target;
  readonly clock: Clock;
  /** Records something the silicon silently ignores or corrupts. */
  violate(kind: SimViolationKind, core: SimCoreName, address: number, by: By, message: string, value?: number): void;
  /** Whether a word holds key material (never shown in messages or logs). */
  isKeyWord(core: SimCoreName, address: number): boolean;
}
