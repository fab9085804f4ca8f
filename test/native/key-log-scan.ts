/**
 * Finds key bytes in probe log lines, in the shapes vendor traces print them: bytes as spaced or
 * run-together hex ("1a 2b 3c 4d", "1a2b3c4d") and 32-bit little-endian words ("0x4D3C2B1A").
 * Any 4 consecutive key bytes count, so a line that shows part of a key is caught too.
 */
import type { ProbeLogEntry } from '../../lib/probe/types';
import { CHIP_NAMES, TARGETS } from '../../lib/targets';

/**
 * The KMU key-value window as lib/targets describes it, the same for every chip (the addon has its
 * own copy, native/key_window.h; the boundary tests prove they agree).
 */
export const KEY_WINDOW = (() => {
  const windows = CHIP_NAMES.map((chip) => {
    const { valueBase, slotCount } = TARGETS[chip].kmu;
    return { start: valueBase, end: valueBase + slotCount * 16 };
  });
  const [first] = windows;
  if (!windows.every((w) => w.start === first!.start && w.end === first!.end)) throw new Error('KMU key-value windows differ between chips');
  return { ...first!, slot: (n: number): number => first!.start + 16 * n };
})();

export const SUPPRESSED_LINE = /^(\d+) vendor log lines? suppressed during a key-slot access$/;

const hex = (bytes: Uint8Array): string[] => Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));

export function keyRenderings(key: Uint8Array): string[] {
  const out = new Set<string>();
  for (let i = 0; i + 4 <= key.length; i++) {
    const run = hex(key.subarray(i, i + 4));
    out.add(run.join(' '));
    out.add(run.join(''));
    out.add([...run].reverse().join('')); // the little-endian word starting here
  }
  return [...out];
}

/** The entries whose message shows any part of `key`. */
export function linesCarrying(entries: ProbeLogEntry[], key: Uint8Array): ProbeLogEntry[] {
  const renderings = keyRenderings(key);
  return entries.filter((e) => renderings.some((r) => e.message.toLowerCase().includes(r)));
}

export function wordAt(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}
