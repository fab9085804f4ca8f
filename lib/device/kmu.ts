/**
 * KMU key slots (UICR KEYSLOT.CONFIG[n] / KEYSLOT.KEY[n]), with the rules of the nRF5340 PS KMU
 * pages: a slot is reached only while selected (SELECTKEYSLOT = n + 1), a VALUE word reads back only
 * while the slot's READ permission is set (else 0xDEADDEAD), and a slot is written in the order
 * select, DEST, VALUE[0..3], PERM, deselect with the NVMC in write mode.
 *
 * Reads never hand key bytes to the caller: VALUE is classified (erased / written / unreadable) or
 * compared with an expected value, and the buffer read is zeroed.
 */
import { TfmError } from '../errors';
import type { ProbeBatchResult, ProbeOperation, ProbeSession } from '../probe/types';
import { ERASED_WORD, KMU_PERM_READ, KMU_UNREACHABLE, kmuDestAddress, kmuPermAddress, kmuValueAddress, type KmuSlotSpec, type Target } from '../targets';
import { bytesEqual, hex32, isErased, wordAt } from '../bytes';
import { runScopedOperations } from './batch';
import { scoped } from './scoped';
import type { PlannedDeviceWrite } from './types';

export const KMU_VALUE_BYTES = 16;

export type KmuValueState = 'erased' | 'written' | 'unreadable';

export interface KmuSlotReading {
  /** UICR KEYSLOT index n (KMU slot id n + 1). */
  index: number;
  dest: number;
  perm: number;
  value: KmuValueState;
  /** Set when an expected value was given and VALUE was readable. */
  valueMatches?: boolean;
  /** As hw_unique_key's key_written(): PERM, DEST and all VALUE words erased. */
  empty: boolean;
}

export interface ReadKmuSlotOptions {
  /** Compare VALUE with these 16 bytes (e.g. the identity blob written). Not modified. */
  expectedValue?: Uint8Array;
}

async function select(session: ProbeSession, target: Target, index: number): Promise<void> {
  await session.writeU32(target.kmu.selectKeySlot, index + 1);
}

async function deselect(session: ProbeSession, target: Target): Promise<void> {
  await session.writeU32(target.kmu.selectKeySlot, 0);
}

/** Deselects even when the slot access failed, without hiding the original error. */
function withSlotSelected<T>(session: ProbeSession, target: Target, index: number, body: () => Promise<T>): Promise<T> {
  return scoped(() => select(session, target, index), body, () => deselect(session, target));
}

function checkIndex(target: Target, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= target.kmu.slotCount) {
    throw new TfmError('INVALID_PARAMETER', `KMU slot index ${index} is out of range 0..${target.kmu.slotCount - 1}.`);
  }
}

function classifyValue(raw: Uint8Array, expected?: Uint8Array): { value: KmuValueState; valueMatches?: boolean } {
  let value: KmuValueState = 'written';
  if (isErased(raw)) value = 'erased';
  else if ([0, 4, 8, 12].every((o) => wordAt(raw, o) === KMU_UNREACHABLE)) value = 'unreadable';
  const valueMatches = expected && value !== 'unreadable' ? bytesEqual(raw, expected) : undefined;
  return { value, valueMatches };
}

/** Slot n's words while it is selected: DEST+PERM (one 8-byte read), VALUE (one 16-byte read, skipped
 *  when PERM has READ disabled since it would only return 0xDEADDEAD). 1 or 2 operations. */
async function readSelectedSlot(session: ProbeSession, target: Target, index: number, expectedValue?: Uint8Array): Promise<KmuSlotReading> {
  const config = await session.read(kmuDestAddress(target, index), 8);
  const dest = wordAt(config, 0);
  const perm = wordAt(config, 4);
  let value: KmuValueState = 'unreadable';
  let valueMatches: boolean | undefined;
  if ((perm & KMU_PERM_READ) !== 0) {
    const raw = await session.read(kmuValueAddress(target, index), KMU_VALUE_BYTES);
    try {
      ({ value, valueMatches } = classifyValue(raw, expectedValue));
    } finally {
      raw.fill(0);
    }
  }
  const empty = dest === ERASED_WORD && perm === ERASED_WORD && value === 'erased';
  return { index, dest, perm, value, valueMatches, empty };
}

/** Reads slot n: select n + 1, its words (readSelectedSlot), deselect. 3 or 4 operations. */
export async function readKmuSlot(session: ProbeSession, target: Target, index: number, options: ReadKmuSlotOptions = {}): Promise<KmuSlotReading> {
  checkIndex(target, index);
  return withSlotSelected(session, target, index, () => readSelectedSlot(session, target, index, options.expectedValue));
}

/**
 * Reads several slots with one deselect at the end: select n + 1, its words, then straight on to the
 * next slot's select. SELECTKEYSLOT is a plain register whose ID field names the one slot reachable
 * (PS KMU, SELECTKEYSLOT); writing another ID selects that slot instead. The PS's "select 0" ends
 * the write procedure (device-facts 5.2); a read changes nothing that a deselect would have to
 * close, and the selection is cleared after the last slot (also when a read fails), as
 * hw_unique_key's key_written() leaves it. 2 or 3 operations per slot, plus 1, in one batch
 * (lib/device/batch.ts): VALUE is read only when the DEST+PERM just read has READ set.
 */
export async function readKmuSlots(
  session: ProbeSession,
  target: Target,
  indices: readonly number[],
  expectedValues?: ReadonlyMap<number, Uint8Array>,
): Promise<KmuSlotReading[]> {
  for (const index of indices) checkIndex(target, index);
  if (indices.length === 0) return [];
  const operations = [...kmuSlotReadOperations(target, indices), deselectOperation(target)];
  // No enter: a failing first select still leaves the selection cleared.
  const result = await runScopedOperations(session, operations, (r) => r.error, { leaveFrom: 0 });
  try {
    return decodeKmuSlotReads(target, indices, result, 0, expectedValues);
  } finally {
    result.wipe();
  }
}

/** select n + 1, DEST+PERM, VALUE when PERM has READ: 3 operations per slot, from `base` on in a batch. */
export function kmuSlotReadOperations(target: Target, indices: readonly number[], base = 0): ProbeOperation[] {
  const operations: ProbeOperation[] = [];
  for (const index of indices) {
    const config = base + operations.length + 1;
    operations.push(
      { op: 'writeU32', address: target.kmu.selectKeySlot, value: index + 1 },
      { op: 'read', address: kmuDestAddress(target, index), length: 8 },
      { op: 'read', address: kmuValueAddress(target, index), length: KMU_VALUE_BYTES, onlyIf: { op: config, offset: 4, mask: KMU_PERM_READ } },
    );
  }
  return operations;
}

export function deselectOperation(target: Target): ProbeOperation {
  return { op: 'writeU32', address: target.kmu.selectKeySlot, value: 0 };
}

/** The readings of kmuSlotReadOperations(target, indices, base) in `result`; VALUE is only classified. */
export function decodeKmuSlotReads(
  target: Target,
  indices: readonly number[],
  result: ProbeBatchResult,
  base: number,
  expectedValues?: ReadonlyMap<number, Uint8Array>,
): KmuSlotReading[] {
  return indices.map((index, k) => {
    const config = result.results[base + 3 * k + 1] as Uint8Array;
    const raw = result.results[base + 3 * k + 2];
    const dest = wordAt(config, 0);
    const perm = wordAt(config, 4);
    let value: KmuValueState = 'unreadable';
    let valueMatches: boolean | undefined;
    if (raw instanceof Uint8Array) ({ value, valueMatches } = classifyValue(raw, expectedValues?.get(index)));
    const empty = dest === ERASED_WORD && perm === ERASED_WORD && value === 'erased';
    return { index, dest, perm, value, valueMatches, empty };
  });
}

/** The writes writeKmuSlot performs, for plans; `placeholder` stands for the 16 key bytes. */
export function planKmuSlotWrite(target: Target, slot: KmuSlotSpec, placeholder: string): PlannedDeviceWrite[] {
  const n = slot.index;
  const writes: PlannedDeviceWrite[] = [
    { core: 'application', address: target.kmu.selectKeySlot, value: n + 1, size: 4, nvmc: false, purpose: `KMU SELECTKEYSLOT = ${n + 1} (slot ${n})` },
  ];
  if (slot.dest !== undefined) {
    writes.push({ core: 'application', address: kmuDestAddress(target, n), value: slot.dest, size: 4, nvmc: true, purpose: `KEYSLOT.CONFIG[${n}].DEST = ${hex32(slot.dest)}` });
  }
  writes.push(
    { core: 'application', address: kmuValueAddress(target, n), value: placeholder, size: KMU_VALUE_BYTES, nvmc: true, purpose: `KEYSLOT.KEY[${n}].VALUE[0..3]` },
    { core: 'application', address: kmuPermAddress(target, n), value: slot.perm, size: 4, nvmc: true, purpose: `KEYSLOT.CONFIG[${n}].PERM = ${hex32(slot.perm)}` },
    { core: 'application', address: target.kmu.selectKeySlot, value: 0, size: 4, nvmc: false, purpose: 'KMU SELECTKEYSLOT = 0 (deselect)' },
  );
  return writes;
}

/**
 * Writes slot n in the PS order (select, DEST, VALUE[0..3] as one 16-byte NVMC write, PERM, deselect)
 * and verifies it by read-back inside the same selection: VALUE after it is written and before PERM
 * can take READ away, then DEST and PERM after PERM. A mismatch throws VERIFY_FAILED (afterWrite) and
 * PERM is not written over a wrong VALUE. `value` (16 bytes, little-endian words) is not modified.
 * Returns the slot as these read-backs found it (VALUE as written, DEST and PERM as read after
 * PERM): the last words this write makes in the slot, so the reading stays true until something
 * writes the slot again (the run's final verify uses it; docs/performance.md).
 */
export async function writeKmuSlot(session: ProbeSession, target: Target, slot: KmuSlotSpec, value: Uint8Array): Promise<KmuSlotReading> {
  checkIndex(target, slot.index);
  if (value.length !== KMU_VALUE_BYTES) throw new TfmError('INVALID_PARAMETER', `A KMU slot takes ${KMU_VALUE_BYTES} bytes (got ${value.length}).`);
  const n = slot.index;
  const fail = (what: string, details: Record<string, unknown>): TfmError =>
    new TfmError('VERIFY_FAILED', `KMU slot ${n}: ${what} did not read back as written. The device is partly provisioned; recover with an erase-all.`, {
      afterWrite: true,
      details: { slot: n, ...details },
    });
  const operations: ProbeOperation[] = [{ op: 'writeU32', address: target.kmu.selectKeySlot, value: n + 1 }];
  if (slot.dest !== undefined) operations.push({ op: 'writeU32', address: kmuDestAddress(target, n), value: slot.dest, nvmc: true });
  const expectedDest = slot.dest ?? ERASED_WORD;
  const config = new Uint8Array(8);
  new DataView(config.buffer).setUint32(0, expectedDest, true);
  new DataView(config.buffer).setUint32(4, slot.perm >>> 0, true);
  const valueCheck = operations.length + 1;
  operations.push(
    { op: 'write', address: kmuValueAddress(target, n), data: value, nvmc: true },
    // VALUE read back before PERM can take READ away; the batch stops here when it differs.
    { op: 'read', address: kmuValueAddress(target, n), length: KMU_VALUE_BYTES, expect: value },
    { op: 'writeU32', address: kmuPermAddress(target, n), value: slot.perm, nvmc: true },
    { op: 'read', address: kmuDestAddress(target, n), length: 8, expect: config },
    deselectOperation(target),
  );
  // One batch with the rules of withSlotSelected (deselect after a failure, the first error kept).
  const result = await runScopedOperations(session, operations, (r) => {
    if (r.stoppedAt === valueCheck) return fail('VALUE', {});
    const read = r.results[r.stoppedAt!] as Uint8Array;
    const dest = wordAt(read, 0);
    const perm = wordAt(read, 4);
    return fail('DEST/PERM', { dest: hex32(dest), expectedDest: hex32(expectedDest), perm: hex32(perm), expectedPerm: hex32(slot.perm) });
  });
  result.wipe();
  // As a read now would report it: VALUE matched before PERM; with READ gone it reads 0xDEADDEAD.
  const readable = (slot.perm & KMU_PERM_READ) !== 0;
  const reading: KmuSlotReading = { index: n, dest: expectedDest, perm: slot.perm >>> 0, value: readable ? 'written' : 'unreadable', valueMatches: readable ? true : undefined, empty: false };
  return reading;
}
