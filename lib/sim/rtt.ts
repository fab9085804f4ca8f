/**
 * SEGGER RTT as the simulated firmware sets it up in RAM (SEGGER_RTT.c layout, RTT v7: the
 * control block's "SEGGER RTT" id, MaxNumUp/DownBuffers, then aUp[] and aDown[] of 24 bytes:
 * sName, pBuffer, SizeOfBuffer, WrOff, RdOff, Flags). The host finds it the way J-Link does, by
 * scanning RAM for the id, and reads the up buffer through the probe.
 */
import { readU32LE } from '../bytes';
import { RTT_CB_OFFSET, RTT_DOWN_BUFFER_SIZE, RTT_ID, RTT_UP_BUFFER_SIZE } from './layout';

/** RAM and unmodelled registers of a core: word address -> value. */
export type VolatileMemory = Map<number, number>;

/** Byte writes into word-held volatile memory. */
export function writeVolatileBytes(memory: VolatileMemory, address: number, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) {
    const a = address + i;
    const word = a & ~3;
    const shift = 8 * (a & 3);
    const old = memory.get(word) ?? 0;
    memory.set(word, ((old & ~(0xff << shift)) | (data[i]! << shift)) >>> 0);
  }
}

/** Places the control block in the core's RAM (what RTT init does at boot). */
export function rttInit(memory: VolatileMemory, ram: { base: number } | undefined): void {
  if (!ram) return;
  const cb = ram.base + RTT_CB_OFFSET;
  const nameAddr = cb + 72;
  const upBuf = cb + 0x100;
  const downBuf = upBuf + RTT_UP_BUFFER_SIZE;
  const w = (a: number, v: number): void => void memory.set(a, v >>> 0);
  w(cb + 16, 1); // MaxNumUpBuffers
  w(cb + 20, 1); // MaxNumDownBuffers
  [nameAddr, upBuf, RTT_UP_BUFFER_SIZE, 0, 0, 0].forEach((v, i) => w(cb + 24 + 4 * i, v));
  [nameAddr, downBuf, RTT_DOWN_BUFFER_SIZE, 0, 0, 0].forEach((v, i) => w(cb + 48 + 4 * i, v));
  writeVolatileBytes(memory, nameAddr, Buffer.from('Terminal\0', 'latin1'));
  // The id goes last, so a host never finds a half-initialised block.
  const id = new Uint8Array(16);
  id.set(Buffer.from(RTT_ID, 'latin1'));
  writeVolatileBytes(memory, cb, id);
}

/** Appends text to up buffer 0 (SEGGER_RTT_MODE_NO_BLOCK_SKIP: text that does not fit is dropped). */
export function rttWrite(memory: VolatileMemory, ram: { base: number } | undefined, text: string): void {
  if (!ram) return;
  const cb = ram.base + RTT_CB_OFFSET;
  if ((memory.get(cb) ?? 0) !== readU32LE(Buffer.from(RTT_ID, 'latin1'), 0)) return;
  const up = cb + 24;
  const buffer = memory.get(up + 4) ?? 0;
  const size = memory.get(up + 8) ?? 0;
  let wr = memory.get(up + 12) ?? 0;
  const rd = memory.get(up + 16) ?? 0;
  if (size === 0 || wr >= size || rd >= size) return;
  const bytes = Buffer.from(text, 'latin1');
  const free = (rd + size - wr - 1) % size;
  if (bytes.length > free) return;
  for (const b of bytes) {
    writeVolatileBytes(memory, buffer + wr, Uint8Array.of(b));
    wr = (wr + 1) % size;
  }
  memory.set(up + 12, wr);
}
