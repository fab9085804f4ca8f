/** Intel HEX output of a dump, at the real bus addresses (nrf-intel-hex writes the records). */
import MemoryMap from 'nrf-intel-hex';
import type { SimDump } from './types';

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
