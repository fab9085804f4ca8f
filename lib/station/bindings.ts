/**
 * The bindings the station, list and recover commands work on: the native addon (a real or fake
 * vendor library) or a fleet of simulated devices.
 */
import { TfmError } from '../errors';
import type { ProbeBinding } from '../probe/types';

export type BackendChoice = 'nrfjprog' | 'jlink' | 'auto';

export function parseBackend(value: string | undefined): BackendChoice {
  const backend = value ?? 'auto';
  if (backend !== 'nrfjprog' && backend !== 'jlink' && backend !== 'auto') {
    throw new TfmError('USAGE', `--backend must be nrfjprog, jlink or auto (got "${backend}").`);
  }
  return backend;
}

/** A NativeBinding, loaded lazily so the simulator never needs the addon. */
export function createNativeBinding(options: { backend?: BackendChoice; library?: string }): ProbeBinding {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const native = require('../probe/native') as typeof import('../probe/native');
  return new native.NativeBinding({ backend: options.backend ?? 'auto', ...(options.library !== undefined ? { library: options.library } : {}) });
}

/** Whether a binding drives simulated devices (simulator, or the test fake vendor library). */
export async function isSimulatedBinding(binding: ProbeBinding): Promise<boolean> {
  if (binding.backend === 'sim') return true;
  return (await binding.libraryInfo()).simulated;
}

/** Parses a whole number option (e.g. --parallel 4). */
export function parseCount(text: string | undefined, option: string, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new TfmError('USAGE', `${option} must be a whole number of at least ${min} (got "${text}").`);
  return value;
}

/** Parses a duration in seconds (may be fractional) into milliseconds. */
export function parseSeconds(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new TfmError('USAGE', `${option} must be a number of seconds greater than 0 (got "${text}").`);
  return Math.round(value * 1000);
}

export interface BindingChoice {
  /** One simulated device in this state file (it must exist). */
  simFile?: string;
  simCount?: number;
  /** Device IDs of fresh fleet devices (see SimFleetOptions.deviceIds). */
  simDeviceIds?: import('./sim-fleet').SimFleetOptions['deviceIds'];
  simStateDir?: string;
  simLatencyMs?: number;
  /** Chip of fresh simulated devices. */
  simChip?: import('../targets').ChipName;
  backend?: BackendChoice;
  library?: string;
}

/** The simulated fleet (when asked for) or the native binding. */
export function createBinding(choice: BindingChoice): { binding: ProbeBinding; fleet?: import('./sim-fleet').SimFleet } {
  if (choice.simFile !== undefined && choice.simCount !== undefined) throw new TfmError('USAGE', 'Give either --sim FILE (one simulated device) or --sim-count N (a fleet), not both.');
  if (choice.simFile !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { createSimFileFleet } = require('./sim-file') as typeof import('./sim-file');
    const fleet = createSimFileFleet(choice.simFile);
    return { binding: fleet.binding, fleet };
  }
  if (choice.simCount === undefined && choice.simStateDir !== undefined) throw new TfmError('USAGE', '--sim-state-dir goes with --sim-count.');
  if (choice.simCount !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { createSimFleet } = require('./sim-fleet') as typeof import('./sim-fleet');
    const fleet = createSimFleet({ count: choice.simCount, chip: choice.simChip, stateDir: choice.simStateDir, latencyMs: choice.simLatencyMs, deviceIds: choice.simDeviceIds });
    return { binding: fleet.binding, fleet };
  }
  return { binding: createNativeBinding({ backend: choice.backend, library: choice.library }) };
}
