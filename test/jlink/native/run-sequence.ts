/**
 * Runs the J-Link backend's debug-port sequences in the test driver (test/jlink/native/sequences_test.cc,
 * built by scripts/build-fakes.js): one sequence against a scripted device, its trace back as JSON.
 */
import { execFileSync } from 'node:child_process';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildSequencesTest } = require('../../../scripts/build-fakes.js') as {
  buildSequencesTest(options?: { quiet?: boolean }): string;
};

export interface SequenceRun {
  ok: boolean;
  code: string;
  message: string;
  result?: unknown;
  /** Every transfer in order: "ap1 write 0x004 = 0x00001000", "mem read 0x50039400 = 0x00000001", "sleep 1000 us". */
  trace: string[];
}

/** `device` and `args` are key=value arguments of the driver (see the top of sequences_test.cc). */
export function runSequence(sequence: string, args: Record<string, string | number> = {}): SequenceRun {
  const driver = buildSequencesTest({ quiet: true });
  const argv = Object.entries(args).map(([k, v]) => `${k}=${typeof v === 'number' ? `0x${(v >>> 0).toString(16)}` : v}`);
  return JSON.parse(execFileSync(driver, [sequence, ...argv], { encoding: 'utf8' })) as SequenceRun;
}

export interface NativeCoreLayout {
  name: string;
  ahbAp: number;
  ctrlAp: number;
  nvmcBase: number;
  flashBase: number;
  flashSize: number;
  pageSize: number;
  uicrBase: number;
  uicrSize: number;
  approtect: number;
  debugLock: { kind: string; register?: number };
}
export interface NativeFamilyLayout {
  family: string;
  jlinkDevice: string;
  application: NativeCoreLayout;
  network?: NativeCoreLayout;
  release?: {
    forceOff: number;
    forceOffNonSecure: number;
    resetPeriphPerm: number;
    ficrVar1: number;
    ficrVar2: number;
    workaroundOffset: number;
    accessTimeoutMs: number;
  };
  eraseProtectStatus: number;
  resetAfterEraseAll: boolean;
}
export interface NativeLayout {
  families: NativeFamilyLayout[];
  chips: { part: number; family: string; approtectUnprotected: number }[];
}

/** The chip layout compiled into the backend (native/jlink_layout.cc). */
export function nativeLayout(): NativeLayout {
  const driver = buildSequencesTest({ quiet: true });
  return JSON.parse(execFileSync(driver, ['layout'], { encoding: 'utf8' })) as NativeLayout;
}
