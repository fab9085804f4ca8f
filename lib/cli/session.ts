/**
 * Opens the probe session a command works on: the simulator (--sim, --sim FILE) or a real probe
 * through the native addon (--snr N). Shared by provision, verify, inspect and the station.
 */
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { TfmError } from '../errors';
import { removeStaleTemporaries, resolvedPath, statRegularOrAbsent } from '../files';
import type { BackendName, ProbeSession } from '../probe/types';
import type { BootModel } from '../provision/types';
import { persistingSession } from '../sim/persist';
import { simStopHook } from './sim-stop';
import { getTarget, type ChipName } from '../targets';
import { acquireProbeLock, acquireStateFileLock, type ProbeLock } from '../station/probe-lock';

export interface SessionOptions {
  /** Probe serial number (real probe). */
  snr?: number | string;
  /** true: a fresh simulated device; a path: load it, save it on close. */
  sim?: string | boolean;
  /**
   * A --sim path that does not exist yet: a fresh device saved there (provision, whose input is a
   * fresh device in ASSEMBLY), or SIM_STATE_NOT_FOUND (default: a typo must not look like a blank
   * device to verify or inspect).
   */
  createMissingSimState?: boolean;
  /** Chip of a fresh simulated device (default nrf5340); for real probes only a check. */
  chip?: ChipName;
  backend?: 'nrfjprog' | 'jlink' | 'auto';
  /** Path of the vendor library (nrfjprog DLL / J-Link DLL). */
  library?: string;
  /** Base for relative paths. */
  cwd?: string;
  /** Simulator only: the stop hook of the signal-and-pipe sweep (cli/sim-stop). */
  onSimOperation?: (index: number, serialNumber: number, method: string) => void;
}

export interface OpenedSession {
  session: ProbeSession;
  simulated: boolean;
  backend: BackendName;
  serialNumber: number;
  /** e.g. "simulated nRF5340 (state file dev.json)", "probe 1050012345 (nrfjprog 10.24.2)". */
  description: string;
  /** Simulator only: TF-M's first boot on a copy of the device. */
  bootModel?: BootModel;
  /** Closes the session (and saves the simulator state file, if any). Idempotent. */
  close(): Promise<void>;
}

/**
 * A probe serial number, in decimal as nrfjprog and J-Link Commander print it. Number() would also
 * take 0x3e8, 1e3, 0b1111101000, 1000.0 and +1000, each a different spelling of some serial: a
 * typo must select no probe rather than another one.
 */
export function parseSerialNumber(value: number | string): number {
  const text = typeof value === 'number' ? String(value) : String(value).trim();
  const n = /^[1-9][0-9]*$/u.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new TfmError('USAGE', `"${String(value)}" is not a probe serial number (decimal digits, as nrfjprog --ids prints it).`);
  return n;
}

/** Exactly one of --snr and --sim, or PROBE_SELECTION_REQUIRED. */
export function checkSelection(options: SessionOptions): void {
  const hasSim = options.sim !== undefined && options.sim !== false;
  const hasSnr = options.snr !== undefined;
  if (hasSim === hasSnr) {
    throw new TfmError('PROBE_SELECTION_REQUIRED', hasSim ? 'Give either --snr or --sim, not both.' : 'Say which device: --snr <serial> for a probe, or --sim [state-file] for the simulator.');
  }
}

export interface SessionLockOptions {
  /** What the holder does, shown to a second process ("provision", "verify", ...). */
  purpose: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the session; with `lock`, first takes the probe's lock (--snr) or the state file's lock
 * (--sim FILE), before the probe is opened at all: another process in the middle of a KMU slot
 * write must not see its CPU halted or its slot selection moved by a read. close() releases it.
 */
export async function openSession(options: SessionOptions, lock?: SessionLockOptions): Promise<OpenedSession> {
  checkSelection(options);
  const simulated = options.sim !== undefined && options.sim !== false;
  let held: ProbeLock | undefined;
  if (lock !== undefined) {
    if (!simulated) held = await acquireProbeLock(parseSerialNumber(options.snr!), { backend: 'jlink', purpose: lock.purpose, env: lock.env });
    else if (typeof options.sim === 'string') held = await acquireStateFileLock(stateFilePath(options), { purpose: lock.purpose, env: lock.env });
  }
  let opened: OpenedSession;
  try {
    opened = simulated ? await openSimulated(options) : await openNative(options);
  } catch (error) {
    await held?.release().catch(() => undefined);
    throw error;
  }
  if (held === undefined) return opened;
  const close = opened.close.bind(opened);
  const release = held;
  return {
    ...opened,
    async close() {
      try {
        await close();
      } finally {
        await release.release().catch(() => undefined);
      }
    },
  };
}

function stateFilePath(options: SessionOptions): string {
  return path.resolve(options.cwd ?? process.cwd(), options.sim as string);
}

/**
 * The state file will be saved after every write: check first that it can be, so that a read-only
 * directory stops the run before the device is touched instead of after "Success!".
 */
export function checkStateFileWritable(file: string): void {
  const directory = path.dirname(file);
  const exists = existsSync(file);
  try {
    if (!statSync(directory).isDirectory()) throw new Error(`${directory} is not a directory`);
    // The save is a temporary file renamed over the state file: both need the directory.
    accessSync(directory, fsConstants.W_OK);
    if (exists) accessSync(file, fsConstants.W_OK);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `The simulated device state file ${file} cannot be saved (${(error as Error).message}). Nothing was done to the device; make the file and its directory writable.`, { cause: error });
  }
}

async function openSimulated(options: SessionOptions): Promise<OpenedSession> {
  // Loaded lazily: the simulator is not needed to drive a real probe.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sim = require('../sim') as typeof import('../sim');
  const file = typeof options.sim === 'string' ? path.resolve(options.cwd ?? process.cwd(), options.sim) : undefined;
  if (file) checkStateFileWritable(file);
  let device;
  if (file) {
    // A FIFO or device would block or never end: refused by stat before anything opens it.
    statRegularOrAbsent(file, 'the --sim state file');
    removeStaleTemporaries(resolvedPath(file));
  }
  if (file && (existsSync(file) || options.createMissingSimState !== true)) {
    // A --chip that differs is not refused here: provisioning's CHIP_MISMATCH check reports it from FICR.
    device = sim.SimulatedDevice.load(file);
  } else {
    device = sim.SimulatedDevice.create({ chip: options.chip ? getTarget(options.chip).name : 'nrf5340' });
  }
  const binding = new sim.SimBinding({ onOperation: options.onSimOperation, yieldEachOperation: true });
  const serialNumber = sim.DEFAULT_SIM_SERIAL;
  binding.attach(serialNumber, device);
  const opened = await binding.open(serialNumber);
  const save = (): void => {
    if (file) binding.device(serialNumber)!.save(file);
  };
  // Saved after every write (lib/sim/persist): the file is the device, durable like silicon.
  const session = file ? persistingSession(opened, save) : opened;
  let closed = false;
  return {
    session,
    simulated: true,
    backend: 'sim',
    serialNumber,
    description: `simulated ${getTarget(device.chip).displayName}${file ? ` (state file ${path.basename(file)})` : ''}`,
    bootModel: (request) => binding.device(serialNumber)!.clone().bootTfm(request),
    async close() {
      if (closed) return;
      closed = true;
      await session.close();
      save();
    },
  };
}

async function openNative(options: SessionOptions): Promise<OpenedSession> {
  const serialNumber = parseSerialNumber(options.snr!);
  // Loaded lazily: the simulator works where the addon is not built (NATIVE_ADDON_UNAVAILABLE then).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const native = require('../probe/native') as typeof import('../probe/native');
  const binding = await native.openBinding({ backend: options.backend ?? 'auto', library: options.library });
  const info = await binding.libraryInfo();
  const session = await binding.open(serialNumber);
  let closed = false;
  return {
    session,
    simulated: session.simulated,
    backend: session.backend,
    serialNumber,
    description: `probe ${serialNumber} (${info.backend}${info.version ? ` ${info.version}` : ''}${info.simulated ? ', simulated library' : ''})`,
    async close() {
      if (closed) return;
      closed = true;
      await session.close();
    },
  };
}

/** Adds the device-selection options every device command shares. */
export function addDeviceOptions<T extends import('commander').Command>(command: T): T {
  command
    .option('--snr <serial>', 'serial number of the debug probe (J-Link)')
    .option('--serial-number <serial>', 'the same as --snr (nrfutil\'s name for it)')
    .option('--sim [state-file]', 'use the simulator: a fresh nRF5340 in ASSEMBLY, or the device in state-file (saved after; it must exist, except for provision)')
    .option('--chip <chip>', 'expected chip: nrf5340, nrf9160, nrf9161, nrf9151 (with --sim and no state file: the chip to simulate)')
    .option('--backend <backend>', 'probe library: nrfjprog, jlink or auto', 'auto')
    .option('--library <path>', 'path of the vendor library (nrfjprog DLL or J-Link DLL)');
  return command;
}

export interface DeviceCommandOptions {
  snr?: string;
  serialNumber?: string;
  sim?: string | boolean;
  chip?: string;
  backend?: string;
  library?: string;
  json?: boolean;
}

/** Turns the shared command-line options into SessionOptions (USAGE errors for bad values). */
export function sessionOptionsFrom(options: DeviceCommandOptions, cwd: string, env: NodeJS.ProcessEnv = {}): SessionOptions {
  const backend = options.backend ?? 'auto';
  if (backend !== 'nrfjprog' && backend !== 'jlink' && backend !== 'auto') throw new TfmError('USAGE', `--backend must be nrfjprog, jlink or auto (got "${backend}").`);
  let chip: ChipName | undefined;
  if (options.chip !== undefined) {
    try {
      chip = getTarget(options.chip).name;
    } catch (error) {
      throw new TfmError('USAGE', (error as Error).message);
    }
  }
  const simulated = options.sim !== undefined && options.sim !== false;
  return { snr: snrFrom(options), sim: options.sim, chip, backend, library: options.library, cwd, onSimOperation: simulated ? simStopHook(env) : undefined };
}

/** --snr or its alias --serial-number (nrfutil's spelling); both with different values is a usage error. */
export function snrFrom(options: { snr?: string; serialNumber?: string }): string | undefined {
  if (options.snr !== undefined && options.serialNumber !== undefined && options.snr.trim() !== options.serialNumber.trim()) {
    throw new TfmError('USAGE', `--snr ${options.snr} and --serial-number ${options.serialNumber} name different probes; give one of them.`);
  }
  return options.snr ?? options.serialNumber;
}
