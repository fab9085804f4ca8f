/**
 * The fake nrfjprog library for tests that go through the REAL native addon (no hardware).
 *
 *   import { fakeNrfjprog } from '../support/fake-vendor';
 *
 *   const fake = fakeNrfjprog({ probes: [{ serialNumber: 1001, chip: 'nrf5340', deviceId: '0123456789abcdef' }] });
 *   const binding = fake.binding();               // NativeBinding on the fake library
 *   const session = await binding.open(1001);     // session.simulated === true
 *   await session.readU32(0x00ff020c);            // 0x5340 (FICR INFO.PART)
 *   await session.close();
 *
 * What the fake models (full description at the top of test/fixtures/fake-nrfjprog/fake_nrfjprog.c):
 * - probes with chips nrf5340 / nrf9160 / nrf9161 / nrf9151; FICR DEVICEID from `deviceId`
 *   ("0123456789abcdef" -> DEVICEID[0] = 0x01234567, DEVICEID[1] = 0x89abcdef), INFO.PART /
 *   SIPINFO.PARTNO and VARIANT as lib/targets reads them; NVMC.READY reads 1;
 * - flash and UICR read 0xFFFFFFFF erased; writes with `{ nvmc: true }` AND bits in, plain writes
 *   are ignored; RAM/registers are plain memory; the nRF5340 network core has its own space;
 * - `memory` presets initial words (e.g. a lifecycle state in UICR);
 * - `latencyUs` per vendor call, `failures` (the k-th matching call returns an nrfjprog code),
 *   `logMessages` emitted from the fake's own thread after connecting;
 * - `trace: true` records every vendor call; `readTrace()` returns them in order;
 * - `barrier` makes N instances meet inside one vendor call (a parallelism proof without timing).
 *
 * Each call writes a fresh configuration for this process (a per-pid file the fake finds without
 * environment variables, since Jest's process.env never reaches native code; the last call wins)
 * and sets process.env.FAKE_NRFJPROG_CONFIG for child processes. The fake re-reads it on every
 * open, so one Jest process can reconfigure between tests; a new configuration also resets every
 * device's memory. Within one configuration, memory persists across sessions (close and reopen
 * sees what was written). Files live in test/.tmp/fakes (configs, traces/), pruned automatically.
 */
import * as fs from 'node:fs';
import { NativeBinding, type NativeBindingOptions } from '../../lib/probe/native';
import type { ChipName } from '../../lib/targets';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildFakes, fakeLibraryPath, writeFakeConfig } = require('../../scripts/build-fakes.js') as {
  buildFakes(options?: { quiet?: boolean }): Record<string, string>;
  fakeLibraryPath(variant?: string): string;
  writeFakeConfig(options: FakeNrfjprogOptions): { configPath: string; tracePath?: string };
};

export interface FakeProbeSpec {
  serialNumber: number;
  /** Default 'nrf5340'. */
  chip?: ChipName;
  /** 16 hex digits; default: the serial number in hex, zero-padded. */
  deviceId?: string;
  /** Initial words (before any session writes). */
  memory?: Array<{ core?: 'application' | 'network'; address: number; value: number }>;
}

export interface FakeFailureSpec {
  /** nrfjprogdll_err_t to return, e.g. -90 (NOT_AVAILABLE_BECAUSE_PROTECTION). */
  code: number;
  /** 1-based index among matching calls of one vendor instance (NRFJPROG_open_dll_inst is call 1). Default 1. */
  call?: number;
  /** How many matching calls fail from `call` on; 0 = all of them. Default 1. */
  count?: number;
  /** Only calls of this function, e.g. 'NRFJPROG_read_u32_inst'. */
  function?: string;
  /** Only calls on this probe (after it is connected). */
  serialNumber?: number;
}

export interface FakeNrfjprogOptions {
  /**
   * Which library the fake imitates: 'full' (default) is like nrfjprog 10.19 .. 10.24
   * (NRFJPROG_version, AUTO_FAMILY), 'v10.18' like 10.13 .. 10.18 (neither).
   */
  variant?: 'full' | 'v10.18';
  /** Default: one nRF5340 behind probe 1000. */
  probes?: FakeProbeSpec[];
  latencyUs?: number;
  failures?: FakeFailureSpec[];
  logMessages?: number;
  /** Gap between log messages; default 1000 µs. */
  logIntervalUs?: number;
  /** What NRFJPROG_version reports; default [10, 24, 2]. */
  version?: [number, number, number];
  /** Whether recover leaves UICR.APPROTECT open, as nrfjprog's default configuration does. Default true. */
  recoverWritesApprotect?: boolean;
  trace?: boolean;
  /** NVMC READY reads busy this many times after each bus-driven write or erase (default 0). */
  busyPolls?: number;
  /** Calls that hang: each call of `function` (on `serialNumber`, else any probe) sleeps `ms` first. */
  hangs?: Array<{ function: string; ms: number; serialNumber?: number }>;
  /** KMU key values read back whatever the selection and permissions: a chip-off view, for comparing with a simulator dump. */
  chipOffView?: boolean;
  /**
   * The first call of `function` on each vendor instance waits until `count` instances wait at
   * once, then all go on; if that never happens within `timeoutMs` (default 10000) the call fails
   * with TIME_OUT (-220). Proves that `count` probes really run in parallel.
   */
  barrier?: { count: number; function: string; timeoutMs?: number };
}

export interface FakeTraceEntry {
  /** 0 before the instance connected to a probe. */
  serialNumber: number;
  function: string;
  args: string[];
  /** The code a failure injection returned, if one did. */
  injected?: number;
}

export interface FakeNrfjprog {
  libraryPath: string;
  configPath: string;
  tracePath?: string;
  /** A NativeBinding on the fake library (backend 'nrfjprog'). */
  binding(options?: Omit<NativeBindingOptions, 'library' | 'backend'>): NativeBinding;
  /** Vendor calls so far, in order (needs `trace: true`). */
  readTrace(): FakeTraceEntry[];
}

/** Builds the fake libraries when missing or stale (cheap when up to date). */
export function ensureFakeLibraries(): void {
  buildFakes({ quiet: true });
}

export function fakeNrfjprog(options: FakeNrfjprogOptions = {}): FakeNrfjprog {
  ensureFakeLibraries();
  const { configPath, tracePath } = writeFakeConfig({ ...options, probes: options.probes ?? [{ serialNumber: 1000 }] });
  const libraryPath = fakeLibraryPath(options.variant ?? 'full');
  return {
    libraryPath,
    configPath,
    tracePath,
    binding: (bindingOptions = {}) => new NativeBinding({ ...bindingOptions, backend: 'nrfjprog', library: libraryPath }),
    readTrace: () => {
      if (!tracePath) throw new Error('fakeNrfjprog: pass { trace: true } to record vendor calls');
      if (!fs.existsSync(tracePath)) return [];
      return fs
        .readFileSync(tracePath, 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => {
          const [serial, fn, ...rest] = line.split(' ');
          const arrow = rest.indexOf('->');
          const entry: FakeTraceEntry = { serialNumber: Number(serial), function: fn, args: arrow >= 0 ? rest.slice(0, arrow) : rest };
          if (arrow >= 0) entry.injected = Number(rest[arrow + 1]);
          return entry;
        });
    },
  };
}

/** Libraries the addon must refuse: 'no-inst' (nrfjprog 10.12 or older) and 'highlevel' (libhighlevelnrfjprog). */
export function brokenLibraryPath(kind: 'no-inst' | 'highlevel'): string {
  ensureFakeLibraries();
  return fakeLibraryPath(kind);
}
