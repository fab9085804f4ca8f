/**
 * Chip-off dumps: what a decapped chip would hold (FICR, UICR, flash), their word-level
 * differences, and their Intel HEX export at the real bus addresses (nrf-intel-hex writes the
 * records). No access rules apply here: this is the observer's view, not the bus.
 */
import MemoryMap from 'nrf-intel-hex';
import { ERASED_WORD, type ChipName, type Target } from '../targets';
import { readU32LE, toHex, writeU32LE } from '../bytes';
import type { SimCore } from './core';
import { FICR_SIZE } from './layout';
import type { SimCoreDump, SimCoreName, SimDump, SimDumpDifference, SimKmuSlotDump, SimLifecycleReading } from './types';

/** One core's FICR page, UICR and (with `withFlash`) non-erased flash pages. */
export function coreDump(core: SimCore, withFlash: boolean): SimCoreDump {
  const ficr = new Uint8Array(FICR_SIZE).fill(0xff);
  for (const [address, value] of core.ficr) writeU32LE(ficr, address - core.spec.ficrBase, value);
  const uicr = new Uint8Array(core.spec.uicrSize);
  core.nvm.uicr.forEach((w, i) => writeU32LE(uicr, 4 * i, w));
  const result: SimCoreDump = { ficr: { address: core.spec.ficrBase, data: ficr }, uicr: { address: core.spec.uicrBase, data: uicr } };
  if (withFlash) {
    result.flash = [...core.nvm.flash.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([address, words]) => {
        const data = new Uint8Array(words.length * 4);
        words.forEach((w, i) => writeU32LE(data, 4 * i, w));
        return { address, data };
      });
  }
  return result;
}

/** What a whole-device dump reads (device.ts). */
export interface DumpSource {
  readonly chip: ChipName;
  readonly deviceId: string;
  readonly target: Target;
  readonly cores: { application: SimCore; network?: SimCore };
  readonly lifecycle: SimLifecycleReading;
  lifecycleWords(): SimDump['lifecycleWords'];
  kmuSlot(index: number): SimKmuSlotDump;
  peekU32(address: number): number;
}

/** The chip-off view of a device: lifecycle, implementation ID, written KMU slots, every core. */
export function deviceDump(dev: DumpSource, withFlash: boolean): SimDump {
  const t = dev.target;
  const kmuSlots: SimKmuSlotDump[] = [];
  for (let i = 0; i < t.kmu.slotCount; i++) {
    const slot = dev.kmuSlot(i);
    if (slot.dest !== ERASED_WORD || slot.perm !== ERASED_WORD || slot.value.some((b) => b !== 0xff)) kmuSlots.push(slot);
  }
  const implementationId = new Uint8Array(32);
  for (let i = 0; i < 32; i += 4) writeU32LE(implementationId, i, dev.peekU32(t.implementationId.address + i));
  return {
    chip: dev.chip,
    deviceId: dev.deviceId,
    lifecycle: dev.lifecycle,
    lifecycleWords: dev.lifecycleWords(),
    implementationId: toHex(implementationId),
    kmuSlots,
    cores: {
      application: coreDump(dev.cores.application, withFlash),
      ...(dev.cores.network ? { network: coreDump(dev.cores.network, withFlash) } : {}),
    },
  };
}

/** Word-level differences between two byte blocks at `base` (absent bytes count as erased). */
function diffWords(out: SimDumpDifference[], core: SimCoreName, region: SimDumpDifference['region'], base: number, da: Uint8Array | undefined, db: Uint8Array | undefined): void {
  const length = Math.max(da?.length ?? 0, db?.length ?? 0);
  for (let o = 0; o < length; o += 4) {
    const va = da && o < da.length ? readU32LE(da, o) : ERASED_WORD;
    const vb = db && o < db.length ? readU32LE(db, o) : ERASED_WORD;
    if (va !== vb) out.push({ core, region, address: base + o, a: va, b: vb });
  }
}

/** Word-level differences between two dumps (FICR, UICR, and flash when both dumps have it). */
export function diffDumps(a: SimDump, b: SimDump): SimDumpDifference[] {
  const out: SimDumpDifference[] = [];
  const names: SimCoreName[] = ['application', 'network'];
  for (const name of names) {
    const ca = a.cores[name];
    const cb = b.cores[name];
    if (!ca && !cb) continue;
    for (const region of ['ficr', 'uicr'] as const) {
      const ra = ca?.[region];
      const rb = cb?.[region];
      diffWords(out, name, region, (ra ?? rb)!.address, ra?.data, rb?.data);
    }
    if (ca?.flash && cb?.flash) {
      const pages = new Map<number, [Uint8Array | undefined, Uint8Array | undefined]>();
      for (const p of ca.flash) pages.set(p.address, [p.data, undefined]);
      for (const p of cb.flash) pages.set(p.address, [pages.get(p.address)?.[0], p.data]);
      for (const [address, [da, db]] of [...pages.entries()].sort((x, y) => x[0] - y[0])) diffWords(out, name, 'flash', address, da, db);
    }
  }
  return out;
}

/** Intel HEX output of a dump, at the real bus addresses. */
export function dumpToIntelHex(dump: SimDump): string {
  const blocks = new Map<number, Uint8Array>();
  for (const core of [dump.cores.application, dump.cores.network]) {
    if (!core) continue;
    blocks.set(core.ficr.address, core.ficr.data);
    blocks.set(core.uicr.address, core.uicr.data);
    for (const page of core.flash ?? []) blocks.set(page.address, page.data);
  }
  const sorted = new MemoryMap([...blocks.entries()].sort((a, b) => a[0] - b[0]));
  return sorted.join().asHexString() + '\n';
}
