/**
 * The simulated device's state file: JSON with a format name, a schema version and a SHA-256 digest
 * of its body, so CLI runs can be chained on one simulated device. Anything truncated, edited,
 * corrupted or of an unknown version is refused with SIM_STATE_INVALID, never half-loaded.
 *
 * It holds the non-volatile state (flash, UICR with its write counts, which is where the simulated
 * keys live, by design: it is a simulated chip) and the volatile state that survives while the chip
 * stays powered between runs (locks, FORCEOFF, NVMC mode, KMU selection, CryptoCell key registers).
 * RAM and unmodelled registers are not kept. This module converts between the file and a
 * DeviceSnapshot (each part's own snapshot); it never sees a device.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { TfmError } from '../errors';
import { readRegularFile, writeFileAtomic } from '../files';
import { getTarget, isChipName, type ChipName } from '../targets';
import { toHex } from '../bytes';
import type { CoreSnapshot } from './core';
import type { CtrlApSnapshot } from './ctrl-ap';
import type { KmuSnapshot } from './kmu';
import type { ConsoleEntry, SimCoreName } from './types';

export const SIM_STATE_FORMAT = 'tfm-provision-sim-state';
export const SIM_STATE_SCHEMA_VERSION = 1;
const MAX_CONSOLE_LINES = 2000;

/** Everything a state file holds, as the device's parts give and take it. */
export interface DeviceSnapshot {
  chip: ChipName;
  deviceId: string;
  nowUs: number;
  forceOff: boolean;
  kmu: KmuSnapshot;
  ctrlAp: CtrlApSnapshot;
  cores: { application: CoreSnapshot; network?: CoreSnapshot };
  console: ConsoleEntry[];
}

function coreToState(core: CoreSnapshot): object {
  return {
    uicr: wordsToHex(core.nvm.uicr),
    uicrWrites: toHex(core.nvm.uicrWrites),
    flash: core.nvm.flash.map((p) => ({ address: p.address, data: wordsToHex(p.words), writes: toHex(p.writes) })),
    nvmcConfig: core.nvm.nvmcConfig,
    busyUntil: core.nvm.busyUntil,
    approtectOpenAtReset: core.approtectOpenAtReset,
    unlockedByEraseAll: core.unlockedByEraseAll,
    running: core.running,
    firmwareStarted: core.firmwareStarted,
    bootTimeUs: core.bootTimeUs,
  };
}

/** The state-file object (schema version 1) of a snapshot. */
export function snapshotToState(s: DeviceSnapshot): object {
  const cores: Array<[SimCoreName, CoreSnapshot]> = [['application', s.cores.application]];
  if (s.cores.network) cores.push(['network', s.cores.network]);
  const body = {
    format: SIM_STATE_FORMAT,
    schemaVersion: SIM_STATE_SCHEMA_VERSION,
    chip: s.chip,
    deviceId: s.deviceId,
    virtualTimeUs: s.nowUs,
    forceOff: s.forceOff,
    kmu: { selected: s.kmu.selected, blocked: s.kmu.blocked, events: { ...s.kmu.events } },
    eraseProtectDisableKey: s.ctrlAp.eraseProtectDisableKey,
    cryptocell: Object.fromEntries(s.kmu.cryptocell.map(([a, w]) => [String(a), wordsToHex(w)])),
    cores: Object.fromEntries(cores.map(([name, c]) => [name, coreToState(c)])),
    console: s.console.slice(-MAX_CONSOLE_LINES),
  };
  return { ...body, digest: digestOf(body) };
}

function digestOf(body: object): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

class Reader {
  constructor(private readonly where: string) {}
  fail(path: string, problem: string): never {
    throw new TfmError('SIM_STATE_INVALID', `${this.where} is not a valid simulated device state: ${path} ${problem}. Create a new one with "tfm-provision sim create".`, {
      details: { path },
    });
  }
  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be an object');
    return value as Record<string, unknown>;
  }
  number(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) this.fail(path, `must be a number in ${min}..${max}`);
    return value as number;
  }
  boolean(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'must be true or false');
    return value as boolean;
  }
  hex(value: unknown, path: string, bytes: number): Uint8Array {
    if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-f]*$/u.test(value)) this.fail(path, `must be ${bytes * 2} lowercase hex digits`);
    return Uint8Array.from(Buffer.from(value as string, 'hex'));
  }
  words(value: unknown, path: string, count: number): Uint32Array {
    const bytes = this.hex(value, path, count * 4);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = Buffer.from(bytes.buffer, bytes.byteOffset).readUInt32LE(4 * i);
    return out;
  }
}

function wordsToHex(words: Uint32Array): string {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w, 4 * i));
  return b.toString('hex');
}

/** Checks a state-file object completely and returns its snapshot. Anything else: SIM_STATE_INVALID. */
export function stateToSnapshot(value: unknown, where = 'The state'): DeviceSnapshot {
  const r: Reader = new Reader(where);
  const root = r.object(value, 'the file');
  if (root.format !== SIM_STATE_FORMAT) r.fail('format', `must be "${SIM_STATE_FORMAT}" (this is not a tfm-provision simulated device file)`);
  if (root.schemaVersion !== SIM_STATE_SCHEMA_VERSION) {
    r.fail('schemaVersion', `is ${JSON.stringify(root.schemaVersion)}; this version of tfm-provision reads only schema ${SIM_STATE_SCHEMA_VERSION}`);
  }
  const { digest, ...body } = root;
  if (typeof digest !== 'string' || digest !== digestOf(body)) r.fail('digest', 'does not match the contents (the file was edited, truncated or corrupted)');
  const chip = root.chip;
  const deviceId = root.deviceId;
  if (!isChipName(chip)) r.fail('chip', 'is not a supported chip');
  if (typeof deviceId !== 'string' || !/^[0-9a-f]{16}$/u.test(deviceId)) r.fail('deviceId', 'must be 16 lowercase hex digits');
  const target = getTarget(chip);
  const nowUs = r.number(root.virtualTimeUs, 'virtualTimeUs');
  const forceOff = r.boolean(root.forceOff, 'forceOff');
  const kmu = r.object(root.kmu, 'kmu');
  const events = r.object(kmu.events, 'kmu.events');
  const cryptocell: Array<[number, Uint32Array]> = [];
  for (const [address, words] of Object.entries(r.object(root.cryptocell, 'cryptocell'))) {
    const a = Number(address);
    if (!target.cryptocell.aesKeyAddresses.includes(a)) r.fail(`cryptocell.${address}`, 'is not a CryptoCell key register of this chip');
    cryptocell.push([a, r.words(words, `cryptocell.${address}`, 4)]);
  }
  const kmuSnapshot: KmuSnapshot = {
    selected: r.number(kmu.selected, 'kmu.selected', 0, target.kmu.slotCount),
    blocked: r.boolean(kmu.blocked, 'kmu.blocked'),
    events: { pushed: r.number(events.pushed, 'kmu.events.pushed', 0, 1), revoked: r.number(events.revoked, 'kmu.events.revoked', 0, 1), error: r.number(events.error, 'kmu.events.error', 0, 1) },
    cryptocell,
  };
  const ctrlAp: CtrlApSnapshot = { eraseProtectDisableKey: r.number(root.eraseProtectDisableKey, 'eraseProtectDisableKey', 0, 0xffffffff) };
  const cores = r.object(root.cores, 'cores');
  const specs = target.network ? [target.application, target.network] : [target.application];
  const expected = specs.map((c) => c.name);
  if (Object.keys(cores).sort().join() !== [...expected].sort().join()) r.fail('cores', `must hold exactly ${expected.join(' and ')}`);
  const coreSnapshots: Partial<Record<SimCoreName, CoreSnapshot>> = {};
  for (const spec of specs) {
    const p = `cores.${spec.name}`;
    const s = r.object(cores[spec.name], p);
    const n = spec.uicrSize / 4;
    const uicr = r.words(s.uicr, `${p}.uicr`, n);
    const uicrWrites = r.hex(s.uicrWrites, `${p}.uicrWrites`, n);
    if (!Array.isArray(s.flash)) r.fail(`${p}.flash`, 'must be a list of pages');
    const { base, size, pageSize } = spec.flash;
    const flash = (s.flash as unknown[]).map((page, i) => {
      const pp = r.object(page, `${p}.flash[${i}]`);
      const address = r.number(pp.address, `${p}.flash[${i}].address`, base, base + size - 1);
      if ((address - base) % pageSize !== 0) r.fail(`${p}.flash[${i}].address`, 'is not a page start');
      return { address, words: r.words(pp.data, `${p}.flash[${i}].data`, pageSize / 4), writes: r.hex(pp.writes, `${p}.flash[${i}].writes`, pageSize / 4) };
    });
    coreSnapshots[spec.name] = {
      nvm: { uicr, uicrWrites, flash, nvmcConfig: r.number(s.nvmcConfig, `${p}.nvmcConfig`, 0, 7), busyUntil: r.number(s.busyUntil, `${p}.busyUntil`) },
      approtectOpenAtReset: r.boolean(s.approtectOpenAtReset, `${p}.approtectOpenAtReset`),
      unlockedByEraseAll: r.boolean(s.unlockedByEraseAll, `${p}.unlockedByEraseAll`),
      running: r.boolean(s.running, `${p}.running`),
      firmwareStarted: r.boolean(s.firmwareStarted, `${p}.firmwareStarted`),
      bootTimeUs: r.number(s.bootTimeUs, `${p}.bootTimeUs`),
    };
  }
  if (!Array.isArray(root.console)) r.fail('console', 'must be a list');
  const console = (root.console as unknown[]).map((entry, i): ConsoleEntry => {
    const e = r.object(entry, `console[${i}]`);
    const core = e.core;
    const text = e.line;
    if ((core !== 'application' && core !== 'network') || typeof text !== 'string') r.fail(`console[${i}]`, 'must be { core, timeUs, line }');
    return { core: core as SimCoreName, timeUs: r.number(e.timeUs, `console[${i}].timeUs`), line: text as string };
  });
  return { chip, deviceId, nowUs, forceOff, kmu: kmuSnapshot, ctrlAp, cores: { application: coreSnapshots.application!, ...(coreSnapshots.network ? { network: coreSnapshots.network } : {}) }, console };
}

/**
 * Writes a state file atomically: a crash never leaves a truncated file. A symlink stays a link:
 * the state goes to its target (files.ts writeFileAtomic). A FIFO or device is refused, not opened.
 */
export function writeStateFile(file: string, state: object, options: { overwrite?: boolean } = {}): void {
  const text = JSON.stringify(state, null, 1);
  // Never write what readStateFile would refuse (a clock run past Number.MAX_SAFE_INTEGER, ...):
  // the file on disk stays the last one that loads.
  stateToSnapshot(JSON.parse(text) as unknown, `The simulated device to be saved to ${file}`);
  if (options.overwrite === false && existsSync(file)) {
    throw new TfmError('USAGE', `${file} already exists; choose another name or overwrite it explicitly (--force).`);
  }
  writeFileAtomic(file, text + '\n', 'the simulated device state file');
}

/** A state file is a few hundred KiB (flash pages that were written); anything this big is not one. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

/** Reads and parses a state file (its contents are checked by stateToSnapshot). */
export function readStateFile(file: string): unknown {
  let text: string;
  try {
    if (!existsSync(file)) throw Object.assign(new Error(`${file} does not exist`), { code: 'ENOENT' });
    text = readRegularFile(file, 'the simulated device state file', { maxBytes: MAX_STATE_FILE_BYTES, code: 'SIM_STATE_INVALID' }).toString('utf8');
  } catch (error) {
    // A missing file is most often a typo in its name: said so, apart from an unreadable one.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TfmError('SIM_STATE_NOT_FOUND', `There is no simulated device state file ${file}. Check the name, or create one with "tfm-provision sim create ${file} --chip nrf5340".`, { cause: error, details: { file } });
    }
    throw new TfmError('SIM_STATE_INVALID', `Cannot read the simulated device state file ${file}: ${(error as Error).message}. Create one with "tfm-provision sim create".`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TfmError('SIM_STATE_INVALID', `${file} is not a simulated device state file (invalid JSON: it may be truncated or corrupted).`, { cause: error });
  }
}
