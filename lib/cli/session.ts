/**
 * Opens the probe session a command works on: the simulator (--sim, --sim FILE) or a real probe
 * through the native addon (--snr N). Shared by provision, verify, inspect and the station.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { TfmError } from '../errors';
import type { BackendName, ProbeSession } from '../probe/types';
import type { BootModel } from '../provision/types';
import { getTarget, type ChipName } from '../targets';

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

export function parseSerialNumber(value: number | string): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n <= 0) throw new TfmError('USAGE', `"${String(value)}" is not a probe serial number.`);
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

export async function openSession(options: SessionOptions): Promise<OpenedSession> {
  checkSelection(options);
  if (options.sim !== undefined && options.sim !== false) return openSimulated(options);
  return openNative(options);
}

async function openSimulated(options: SessionOptions): Promise<OpenedSession> {
  // Loaded lazily: the simulator is not needed to drive a real probe.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sim = require('../sim') as typeof import('../sim');
  const file = typeof options.sim === 'string' ? path.resolve(options.cwd ?? process.cwd(), options.sim) : undefined;
  let device;
  if (file && (existsSync(file) || options.createMissingSimState !== true)) {
    // A --chip that differs is not refused here: provisioning's CHIP_MISMATCH check reports it from FICR.
    device = sim.SimulatedDevice.load(file);
  } else {
    device = sim.SimulatedDevice.create({ chip: options.chip ? getTarget(options.chip).name : 'nrf5340' });
  }
  const binding = new sim.SimBinding();
  const serialNumber = sim.DEFAULT_SIM_SERIAL;
  binding.attach(serialNumber, device);
  const session = await binding.open(serialNumber);
  let closed = false;
  return {
    session,
    simulated: true,
    backend: 'sim',
    serialNumber,
    description: `simulated ${getTarget(device.chip).displayName}${file ? ` (state file ${path.basename(file)})` : ''}`,
    bootModel: () => binding.device(serialNumber)!.clone().bootTfm(),
    async close() {
      if (closed) return;
      closed = true;
      await session.close();
      if (file) binding.device(serialNumber)!.save(file);
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
export function sessionOptionsFrom(options: DeviceCommandOptions, cwd: string): SessionOptions {
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
  return { snr: snrFrom(options), sim: options.sim, chip, backend, library: options.library, cwd };
}

/** --snr or its alias --serial-number (nrfutil's spelling); both with different values is a usage error. */
export function snrFrom(options: { snr?: string; serialNumber?: string }): string | undefined {
  if (options.snr !== undefined && options.serialNumber !== undefined && options.snr.trim() !== options.serialNumber.trim()) {
    throw new TfmError('USAGE', `--snr ${options.snr} and --serial-number ${options.serialNumber} name different probes; give one of them.`);
  }
  return options.snr ?? options.serialNumber;
}
