/**
 * Test helpers for the fake SEGGER J-Link library (test/fixtures/fake-jlink/fake_jlink.c): where the
 * built libraries are, a writer for its configuration file, and readers for its call trace and its
 * device state files. Tests point the `jlink` backend at the fake with the `library` option and
 * configure the fake through FAKE_JLINK_CONFIG, which it re-reads when a session opens.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { NativeBinding, type NativeBindingOptions } from '../../lib/probe/native';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildJlinkFakes, fakeJlinkLibraryPath: libraryPathOf } = require('../../scripts/build-fakes.js') as {
  buildJlinkFakes(options?: { quiet?: boolean }): Record<string, string>;
  fakeJlinkLibraryPath(variant?: 'jlink' | 'jlink-incomplete'): string;
};

/** Builds the fake J-Link libraries when missing or stale (cheap when up to date). */
export function ensureFakeJlinkLibraries(): void {
  buildJlinkFakes({ quiet: true });
}

/** The complete fake. */
export function fakeJlinkLibraryPath(): string {
  ensureFakeJlinkLibraries();
  return libraryPathOf('jlink');
}

/** The same fake built without the CoreSight API: a library the backend must refuse. */
export function incompleteFakeJlinkLibraryPath(): string {
  ensureFakeJlinkLibraries();
  return libraryPathOf('jlink-incomplete');
}

/** A NativeBinding with the `jlink` backend on the fake library. */
export function fakeJlinkBinding(options: Omit<NativeBindingOptions, 'library' | 'backend'> = {}): NativeBinding {
  return new NativeBinding({ ...options, backend: 'jlink', library: fakeJlinkLibraryPath() });
}

export type FakeJlinkChip = 'nrf5340' | 'nrf9160' | 'nrf9161' | 'nrf9151';

export interface FakeJlinkProbe {
  serial: number;
  chip: FakeJlinkChip;
  /** Application core APPROTECT in force (UICR.APPROTECT = 0). */
  locked?: boolean;
  /** nRF5340 network core APPROTECT in force. */
  netLocked?: boolean;
  /** No CPU answers behind the probe. */
  noTarget?: boolean;
  /** Target without power. */
  lowVoltage?: boolean;
  /** Hardened APPROTECT at reset (nRF5340, nRF91x1): a reset locks unless UICR.APPROTECT is open. */
  hardened?: boolean;
  /** After a FORCEOFF release the network core's AHB-AP reads CSW.DeviceEn clear this many times. */
  powerupPolls?: number;
  /** nRF5340 erratum 161 silicon: a release without the workaround leaves the network core off. */
  erratum161?: boolean;
  /** Firmware made RESET non-secure: FORCEOFF answers only at 0x40005614. */
  resetNonsecure?: boolean;
  /** Product name in the probe list (no spaces). */
  product?: string;
  /** FICR DEVICEID bytes as 16 hex digits, as the simulator's `deviceId`; default derived from the serial. */
  deviceId?: string;
}

export interface FakeJlinkFailure {
  /** J-Link function name, e.g. 'JLINKARM_ReadMemEx', or '*' for any. */
  function: string;
  /** 1-based call number, counted from the session's JLINKARM_OpenEx. */
  call: number;
  /** Return value to inject (J-Link error code). */
  code: number;
  /** Fail that call and every later one. */
  sticky?: boolean;
}

export interface FakeJlinkOptions {
  probes: FakeJlinkProbe[];
  latencyUs?: number;
  /** READY / ERASEALLSTATUS read busy this many times after an operation (fake default 2). */
  busyPolls?: number;
  /** JLINKARM_GetDLLVersion value. */
  version?: number;
  /** Record every call in a trace file (see readFakeJlinkTrace). */
  trace?: boolean;
  /** Device state persists across sessions in stateDir (default true; see readFakeJlinkState). */
  keepState?: boolean;
  failures?: FakeJlinkFailure[];
}

export interface FakeJlinkSetup {
  dir: string;
  configPath: string;
  tracePath?: string;
  /** Where the fake keeps device state (<serial>.bin, written at each session's close). */
  stateDir: string;
  /** Rewrites the configuration (the fake re-reads it at the next open or list). */
  update(options: FakeJlinkOptions): void;
  /** Restores FAKE_JLINK_CONFIG and removes the folder. */
  dispose(): Promise<void>;
}

/**
 * Sets (or, with undefined, removes) a variable in the real process environment, where the addon and
 * the fake library read it with getenv(). Jest gives each test file a copy of process.env, so a plain
 * assignment never gets there; a worker thread with SHARE_ENV does a real setenv().
 */
export async function setNativeEnv(name: string, value: string | undefined): Promise<void> {
  const code = value === undefined ? `delete process.env[${JSON.stringify(name)}];` : `process.env[${JSON.stringify(name)}] = ${JSON.stringify(value)};`;
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(code, { eval: true, env: SHARE_ENV });
    worker.once('error', reject);
    worker.once('exit', (exitCode) => (exitCode === 0 ? resolve() : reject(new Error(`env worker exited with ${exitCode}`))));
  });
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function render(options: FakeJlinkOptions, tracePath: string | undefined, stateDir: string | undefined): string {
  const lines = ['# written by test/support/fake-jlink.ts'];
  lines.push(`state_dir ${stateDir ?? 'none'}`);
  if (options.latencyUs !== undefined) lines.push(`latency_us ${options.latencyUs}`);
  if (options.busyPolls !== undefined) lines.push(`busy_polls ${options.busyPolls}`);
  if (options.version !== undefined) lines.push(`version ${options.version}`);
  if (tracePath) lines.push(`trace ${tracePath}`);
  for (const p of options.probes) {
    const flags = [
      p.locked && 'locked',
      p.netLocked && 'netlocked',
      p.noTarget && 'notarget',
      p.lowVoltage && 'lowvoltage',
      p.hardened && 'hardened',
      p.erratum161 && 'erratum161',
      p.resetNonsecure && 'reset_nonsecure',
      p.powerupPolls !== undefined && `powerup_polls=${p.powerupPolls}`,
      p.product && `product=${p.product}`,
      p.deviceId && `deviceid=${p.deviceId}`,
    ].filter(Boolean);
    lines.push(['probe', p.serial, p.chip, ...flags].join(' '));
  }
  for (const f of options.failures ?? []) lines.push(['fail', f.function, f.call, f.code, f.sticky ? 'sticky' : ''].join(' ').trim());
  return lines.join('\n') + '\n';
}

/** Writes a configuration into a fresh temp folder and points FAKE_JLINK_CONFIG at it. */
export async function setupFakeJlink(options: FakeJlinkOptions): Promise<FakeJlinkSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-fake-jlink-'));
  const configPath = path.join(dir, 'fake-jlink.conf');
  const tracePath = options.trace ? path.join(dir, 'trace.log') : undefined;
  const stateDir = path.join(dir, 'fake-jlink-state');
  const previous = process.env.FAKE_JLINK_CONFIG;
  const write = (o: FakeJlinkOptions): void =>
    fs.writeFileSync(configPath, render(o, o.trace ? path.join(dir, 'trace.log') : undefined, o.keepState === false ? undefined : stateDir));
  write(options);
  await setNativeEnv('FAKE_JLINK_CONFIG', configPath);
  return {
    dir,
    configPath,
    tracePath,
    stateDir,
    update: write,
    async dispose() {
      await setNativeEnv('FAKE_JLINK_CONFIG', previous);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TraceLine {
  /** Serial of the emulator selected in that library copy (0 before any selection). */
  serial: number;
  /** J-Link function name, or 'event' / 'inject' for the fake's own notes. */
  call: string;
  /** The rest of the line split on spaces, before ' -> '. */
  args: string[];
  /** What follows ' -> ', when present. */
  result?: string;
  raw: string;
}

export function readFakeJlinkTrace(tracePath: string): TraceLine[] {
  if (!fs.existsSync(tracePath)) return [];
  return fs
    .readFileSync(tracePath, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((raw) => {
      const [head, result] = raw.split(' -> ');
      const [serial, call, ...args] = head!.split(' ');
      return { serial: Number(serial), call: call!, args, result, raw };
    });
}

/** Truncates the trace, so a test looks only at what follows. */
export function clearFakeJlinkTrace(tracePath: string): void {
  fs.writeFileSync(tracePath, '');
}

/** An AP register access in the trace, decoded with the DP SELECT written before it. */
export interface ApAccess {
  serial: number;
  write: boolean;
  ap: number;
  /** Register byte offset (bank << 4 | regIndex << 2). */
  register: number;
  value: number;
  ok: boolean;
}

/** Decodes CORESIGHT_Read/WriteAPDPReg lines into AP accesses (DP SELECT = ap << 24 | bank << 4). */
export function apAccesses(lines: TraceLine[]): ApAccess[] {
  const select = new Map<number, number>();
  const out: ApAccess[] = [];
  for (const line of lines) {
    if (line.call === 'JLINKARM_CORESIGHT_WriteAPDPReg') {
      const [reg, apNdp, value] = line.args.map((a) => Number(a));
      if (apNdp === 0 && reg === 2 && line.result === '0') select.set(line.serial, value!);
      if (apNdp === 1) {
        const sel = select.get(line.serial) ?? 0;
        out.push({ serial: line.serial, write: true, ap: sel >>> 24, register: (sel & 0xf0) | (reg! << 2), value: value!, ok: line.result === '0' });
      }
    } else if (line.call === 'JLINKARM_CORESIGHT_ReadAPDPReg') {
      const [reg, apNdp] = line.args.map((a) => Number(a));
      if (apNdp !== 1) continue;
      const [rc, value] = (line.result ?? '').split(' ');
      const sel = select.get(line.serial) ?? 0;
      out.push({ serial: line.serial, write: false, ap: sel >>> 24, register: (sel & 0xf0) | (reg! << 2), value: Number(value), ok: rc === '0' });
    }
  }
  return out;
}

/** FICR DEVICEID[0..1] of a fake probe's chip, as the 8 bytes the simulator takes (LE words). */
export function fakeJlinkDeviceId(serial: number): Uint8Array {
  const id = new Uint8Array(8);
  const view = new DataView(id.buffer);
  view.setUint32(0, (0xf1c00000 ^ serial) >>> 0, true);
  view.setUint32(4, Number((BigInt(serial) * 2654435761n) & 0xffffffffn), true);
  return id;
}

export interface FakeJlinkCoreState {
  flash: Uint8Array;
  uicr: Uint8Array;
  locked: boolean;
}

const CORE_SIZES: Record<FakeJlinkChip, Array<{ name: 'application' | 'network'; flashBase: number; flash: number; uicrBase: number; uicr: number }>> = {
  nrf5340: [
    { name: 'application', flashBase: 0, flash: 0x100000, uicrBase: 0x00ff8000, uicr: 0x1000 },
    { name: 'network', flashBase: 0x01000000, flash: 0x40000, uicrBase: 0x01ff8000, uicr: 0x800 },
  ],
  nrf9160: [{ name: 'application', flashBase: 0, flash: 0x100000, uicrBase: 0x00ff8000, uicr: 0x1000 }],
  nrf9161: [{ name: 'application', flashBase: 0, flash: 0x100000, uicrBase: 0x00ff8000, uicr: 0x1000 }],
  nrf9151: [{ name: 'application', flashBase: 0, flash: 0x100000, uicrBase: 0x00ff8000, uicr: 0x1000 }],
};

/** The device state the fake saved at the last JLINKARM_Close on that probe, per core. */
export function readFakeJlinkState(stateDir: string, serial: number, chip: FakeJlinkChip): Partial<Record<'application' | 'network', FakeJlinkCoreState>> {
  // test/fixtures/nrf-model nrfm_save: per present core a u32 count, (address, value) pairs of the
  // programmed flash and UICR words, then one byte: locked. Absent words are erased.
  const bytes = fs.readFileSync(path.join(stateDir, `${serial}.bin`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Partial<Record<'application' | 'network', FakeJlinkCoreState>> = {};
  let offset = 0;
  for (const core of CORE_SIZES[chip]) {
    const flash = new Uint8Array(core.flash).fill(0xff);
    const uicr = new Uint8Array(core.uicr).fill(0xff);
    const count = view.getUint32(offset, true);
    offset += 4;
    for (let i = 0; i < count; i++, offset += 8) {
      const address = view.getUint32(offset, true);
      const value = view.getUint32(offset + 4, true);
      const [memory, base] = address >= core.uicrBase && address < core.uicrBase + core.uicr ? [uicr, core.uicrBase] : [flash, core.flashBase];
      new DataView(memory.buffer).setUint32(address - base, value, true);
    }
    out[core.name] = { flash, uicr, locked: bytes[offset] === 1 };
    offset += 1;
  }
  return out;
}
