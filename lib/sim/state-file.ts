/**
 * The simulated device's state file: JSON with a format name, a schema version and a SHA-256 digest
 * of its body, so CLI runs can be chained on one simulated device. Anything truncated, edited,
 * corrupted or of an unknown version is refused with SIM_STATE_INVALID, never half-loaded.
 *
 * It holds the non-volatile state (flash, UICR with its write counts, which is where the simulated
 * keys live, by design: it is a simulated chip) and the volatile state that survives while the chip
 * stays powered between runs (locks, FORCEOFF, NVMC mode, KMU selection, CryptoCell key registers).
 * RAM and unmodelled registers are not kept.
 */
import { createHash } from 'node:crypto';
import { TfmError } from '../errors';
import { seededRandom, type RandomSource } from '../random';
import { isChipName, type ChipName } from '../targets';
import { toHex } from './bytes';
import type { SimulatedDevice, SimCore } from './device';

export const SIM_STATE_FORMAT = 'tfm-provision-sim-state';
export const SIM_STATE_SCHEMA_VERSION = 1;
const MAX_CONSOLE_LINES = 2000;

interface CoreState {
  uicr: string;
  uicrWrites: string;
  flash: Array<{ address: number; data: string; writes: string }>;
  nvmcConfig: number;
  busyUntil: number;
  approtectOpenAtReset: boolean;
  unlockedByEraseAll: boolean;
  running: boolean;
  firmwareStarted: boolean;
  bootTimeUs: number;
}

function coreToState(core: SimCore): CoreState {
  return {
    uicr: wordsToHex(core.uicr),
    uicrWrites: toHex(core.uicrWrites),
    flash: [...core.flash.keys()]
      .sort((a, b) => a - b)
      .map((address) => ({ address, data: wordsToHex(core.flash.get(address)!), writes: toHex(core.flashWrites.get(address)!) })),
    nvmcConfig: core.nvmcConfig,
    busyUntil: core.busyUntil,
    approtectOpenAtReset: core.approtectOpenAtReset,
    unlockedByEraseAll: core.unlockedByEraseAll,
    running: core.running,
    firmwareStarted: core.firmwareStarted,
    bootTimeUs: core.bootTimeUs,
  };
}

export function deviceToState(dev: SimulatedDevice): object {
  const body = {
    format: SIM_STATE_FORMAT,
    schemaVersion: SIM_STATE_SCHEMA_VERSION,
    chip: dev.chip,
    deviceId: dev.deviceId,
    virtualTimeUs: dev.nowUs,
    forceOff: dev.forceOff,
    kmu: { selected: dev.kmuSelected, blocked: dev.kmuBlocked, events: { ...dev.kmuEvents } },
    eraseProtectDisableKey: dev.eraseProtectDisableKey,
    cryptocell: Object.fromEntries([...dev.cryptocell.entries()].map(([a, w]) => [String(a), wordsToHex(w)])),
    cores: Object.fromEntries(dev.coreList().map((c) => [c.name, coreToState(c)])),
    console: dev.consoleEntries.slice(-MAX_CONSOLE_LINES),
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

export type BareDeviceFactory = (chip: ChipName, deviceIdHex: string, random: RandomSource) => SimulatedDevice;

export function deviceFromState(value: unknown, random: RandomSource | undefined, bare: BareDeviceFactory, where = 'The state'): SimulatedDevice {
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
  const now = r.number(root.virtualTimeUs, 'virtualTimeUs');
  const dev = bare(chip, deviceId, random ?? seededRandom(`tfm-provision-sim:${deviceId}:${now}`));
  dev.nowUs = now;
  dev.forceOff = r.boolean(root.forceOff, 'forceOff');
  const kmu = r.object(root.kmu, 'kmu');
  dev.kmuSelected = r.number(kmu.selected, 'kmu.selected', 0, dev.target.kmu.slotCount);
  dev.kmuBlocked = r.boolean(kmu.blocked, 'kmu.blocked');
  const events = r.object(kmu.events, 'kmu.events');
  dev.kmuEvents = { pushed: r.number(events.pushed, 'kmu.events.pushed', 0, 1), revoked: r.number(events.revoked, 'kmu.events.revoked', 0, 1), error: r.number(events.error, 'kmu.events.error', 0, 1) };
  dev.eraseProtectDisableKey = r.number(root.eraseProtectDisableKey, 'eraseProtectDisableKey', 0, 0xffffffff);
  const cc = r.object(root.cryptocell, 'cryptocell');
  for (const [address, words] of Object.entries(cc)) {
    const a = Number(address);
    if (!dev.target.cryptocell.aesKeyAddresses.includes(a)) r.fail(`cryptocell.${address}`, 'is not a CryptoCell key register of this chip');
    dev.cryptocell.set(a, r.words(words, `cryptocell.${address}`, 4));
  }
  const cores = r.object(root.cores, 'cores');
  const expected = dev.coreList().map((c) => c.name);
  if (Object.keys(cores).sort().join() !== [...expected].sort().join()) r.fail('cores', `must hold exactly ${expected.join(' and ')}`);
  for (const core of dev.coreList()) {
    const p = `cores.${core.name}`;
    const s = r.object(cores[core.name], p);
    const n = core.spec.uicrSize / 4;
    core.uicr = r.words(s.uicr, `${p}.uicr`, n);
    core.uicrWrites = r.hex(s.uicrWrites, `${p}.uicrWrites`, n);
    if (!Array.isArray(s.flash)) r.fail(`${p}.flash`, 'must be a list of pages');
    const pageWords = core.spec.flash.pageSize / 4;
    (s.flash as unknown[]).forEach((page, i) => {
      const pp = r.object(page, `${p}.flash[${i}]`);
      const address = r.number(pp.address, `${p}.flash[${i}].address`, core.spec.flash.base, core.spec.flash.base + core.spec.flash.size - 1);
      if (address !== core.pageOf(address)) r.fail(`${p}.flash[${i}].address`, 'is not a page start');
      core.flash.set(address, r.words(pp.data, `${p}.flash[${i}].data`, pageWords));
      core.flashWrites.set(address, r.hex(pp.writes, `${p}.flash[${i}].writes`, pageWords));
    });
    core.nvmcConfig = r.number(s.nvmcConfig, `${p}.nvmcConfig`, 0, 7);
    core.busyUntil = r.number(s.busyUntil, `${p}.busyUntil`);
    core.approtectOpenAtReset = r.boolean(s.approtectOpenAtReset, `${p}.approtectOpenAtReset`);
    core.unlockedByEraseAll = r.boolean(s.unlockedByEraseAll, `${p}.unlockedByEraseAll`);
    core.running = r.boolean(s.running, `${p}.running`);
    core.firmwareStarted = r.boolean(s.firmwareStarted, `${p}.firmwareStarted`);
    core.bootTimeUs = r.number(s.bootTimeUs, `${p}.bootTimeUs`);
  }
  if (!Array.isArray(root.console)) r.fail('console', 'must be a list');
  for (const [i, entry] of (root.console as unknown[]).entries()) {
    const e = r.object(entry, `console[${i}]`);
    const core = e.core;
    const text = e.line;
    if ((core !== 'application' && core !== 'network') || typeof text !== 'string') r.fail(`console[${i}]`, 'must be { core, timeUs, line }');
    const line = { core: core as 'application' | 'network', timeUs: r.number(e.timeUs, `console[${i}].timeUs`), line: text };
    dev.consoleEntries.push(line);
    dev.console.push(line.line);
  }
  return dev;
}
