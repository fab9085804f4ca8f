/**
 * A station's worth of simulated devices (`station --sim-count N`): N simulated probes with one
 * fresh device each, serials 100000001.. like J-Link serials.
 *
 * With a state directory, each device lives in `<dir>/<serial>.json`: loaded if present, and
 * saved after every operation that changes the device (write, erase, recover), atomically (temp
 * file + rename). That makes the simulated silicon as durable as real silicon, so a test can kill
 * the station process at any moment and compare what the devices hold with what the records say.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { TfmError } from '../errors';
import type { ProbeBinding, ProbeInfo, ProbeSession, OpenOptions, LibraryInfo } from '../probe/types';
import type { BootModel } from '../provision/types';
import type { ChipName } from '../targets';
import type { SimBinding, SimulatedDevice } from '../sim';
import { persistingSession } from '../sim/persist';
import { writeStateFile } from '../sim/state-file';

export const SIM_FLEET_FIRST_SERIAL = 100000001;

export interface SimFleetOptions {
  count: number;
  chip?: ChipName;
  /** Keep each device in <stateDir>/<serial>.json (loaded if present, saved after each change). */
  stateDir?: string;
  /** Latency per probe operation in milliseconds, waited in real time (default 0: as fast as possible). */
  latencyMs?: number;
  firstSerial?: number;
  /**
   * Device IDs of the fresh devices: 'perSerial' (default) the same ID for a serial every time;
   * 'random' new ones on each fleet (the CLI's demos: two runs are two batches of devices);
   * { seed } derived from the seed and the serial (repeatable runs).
   */
  deviceIds?: 'perSerial' | 'random' | { seed: string };
  /** Test hook: called as each probe operation of any device begins (see SimBindingOptions). */
  onOperation?: (index: number, serialNumber: number, method: string) => void;
}

export interface SimFleet {
  /** The binding a station uses (persists state files when a state directory is set). */
  binding: ProbeBinding;
  /** The simulator binding underneath (attach, detach, inject faults). */
  sim: SimBinding;
  serialNumbers: number[];
  /** The TF-M first-boot model of the device at a probe, run on a copy. */
  bootModel(serialNumber: number): BootModel | undefined;
  /** Where a device's state file is (with a state directory). */
  stateFile(serialNumber: number): string | undefined;
  /**
   * Probe-lock scope: set when the devices live in a state directory that other processes can
   * open too (derived from its path); undefined for devices in this process's memory only, which
   * no other process can reach, so there is nothing to lock.
   */
  lockScope: string | undefined;
}

/** Device ID for a fleet device: recognisable in logs ("f1ee7" first), per serial, seed or fresh. */
function fleetDeviceId(serialNumber: number, choice: SimFleetOptions['deviceIds'] = 'perSerial'): string {
  if (choice === 'perSerial') return `f1ee7${serialNumber.toString(16).padStart(11, '0')}`.slice(0, 16);
  // An ID is no secret: any source that differs per batch will do; the seeded one repeats.
  const tail = choice === 'random' ? randomBytes(6).toString('hex') : createHash('sha256').update(`${choice.seed}:${serialNumber}`).digest('hex');
  return `f1ee7${tail}`.slice(0, 16);
}

/** Atomic (temp file + rename) and checked: never a file the simulator would refuse to load. */
function saveAtomically(device: SimulatedDevice, file: string): void {
  writeStateFile(file, device.toJSON({ settle: false }));
}

/** Upper bound of a simulated fleet: every device lives in memory, so a larger count is a typo, and
 *  an unchecked one ends in a RangeError (INTERNAL_ERROR) or an out-of-memory crash. */
export const SIM_FLEET_MAX_COUNT = 4096;

function checkFleetCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > SIM_FLEET_MAX_COUNT) {
    throw new TfmError('USAGE', `--sim-count must be a whole number from 1 to ${SIM_FLEET_MAX_COUNT} (got ${count}).`);
  }
}

/** The state file of each device of a fleet kept in `stateDir` (what createSimFleet loads and saves),
 *  known before the fleet is made, so a caller can check them against its other files first. */
export function simFleetStateFiles(stateDir: string, count: number, firstSerial = SIM_FLEET_FIRST_SERIAL): Array<{ serialNumber: number; file: string }> {
  checkFleetCount(count);
  return Array.from({ length: count }, (_, i) => ({ serialNumber: firstSerial + i, file: path.join(path.resolve(stateDir), `${firstSerial + i}.json`) }));
}

export function createSimFleet(options: SimFleetOptions): SimFleet {
  checkFleetCount(options.count);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sim = require('../sim') as typeof import('../sim');
  const latencyMs = options.latencyMs ?? 0;
  const binding = new sim.SimBinding({ latencyMs, realTime: latencyMs > 0, onOperation: options.onOperation, yieldEachOperation: true });
  const first = options.firstSerial ?? SIM_FLEET_FIRST_SERIAL;
  const serialNumbers = Array.from({ length: options.count }, (_, i) => first + i);
  const stateDir = options.stateDir !== undefined ? path.resolve(options.stateDir) : undefined;
  if (stateDir !== undefined) {
    try {
      mkdirSync(stateDir, { recursive: true });
    } catch (error) {
      throw new TfmError('FILE_ERROR', `Cannot use ${stateDir} as the directory of the simulated devices: ${(error as Error).message}. Nothing was done.`, { cause: error });
    }
  }
  const files = new Map(stateDir !== undefined ? simFleetStateFiles(stateDir, options.count, first).map((f) => [f.serialNumber, f.file] as const) : []);
  const fileOf = (serial: number): string | undefined => files.get(serial);

  for (const serial of serialNumbers) {
    const file = fileOf(serial);
    let device: SimulatedDevice;
    if (file !== undefined && existsSync(file)) device = sim.SimulatedDevice.load(file);
    else {
      device = sim.SimulatedDevice.create({ chip: options.chip ?? 'nrf5340', deviceId: fleetDeviceId(serial, options.deviceIds) });
      if (file !== undefined) saveAtomically(device, file);
    }
    binding.attach(serial, device);
  }

  const persisting: ProbeBinding =
    stateDir === undefined
      ? binding
      : {
          backend: binding.backend,
          list: (): Promise<ProbeInfo[]> => binding.list(),
          libraryInfo: (): Promise<LibraryInfo> => binding.libraryInfo(),
          async open(serialNumber: number, openOptions?: OpenOptions): Promise<ProbeSession> {
            const session = await binding.open(serialNumber, openOptions);
            return persistingSession(session, () => {
              const device = binding.device(serialNumber);
              const file = fileOf(serialNumber);
              if (device !== undefined && file !== undefined) saveAtomically(device, file);
            });
          },
        };

  return {
    binding: persisting,
    sim: binding,
    serialNumbers,
    bootModel: (serialNumber) => {
      if (binding.device(serialNumber) === undefined) return undefined;
      return (request) => binding.device(serialNumber)!.clone().bootTfm(request);
    },
    stateFile: fileOf,
    lockScope: stateDir !== undefined ? createHash('sha256').update(stateDir).digest('hex').slice(0, 12) : undefined,
  };
}
