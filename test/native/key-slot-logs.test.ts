/**
 * Vendor log lines never carry key bytes: the fake nrfjprog library traces every memory call with
 * its data, from the calling thread and again from its own log thread (as nrfjprog relays its
 * worker process's log), and the addon drops whatever reaches a session while a call touches the
 * KMU key-value window (UICR KEYSLOT.KEY, native/key_window.h), forwarding one summary line instead.
 */
import type { ProbeLogEntry, ProbeSession } from '../../lib/probe/types';
import { CHIP_NAMES, KMU_PERM_IDENTITY, TARGETS, kmuPermAddress, kmuValueAddress } from '../../lib/targets';
import { fakeNrfjprog } from '../support/fake-vendor';
import { KEY_WINDOW, SUPPRESSED_LINE, linesCarrying, wordAt } from './key-log-scan';

const RAM = 0x20000000;
const SERIAL = 7201;
const CALLING_THREAD = 'nrfjprog/fake-nrfjprog';
const LOG_THREAD = 'nrfjprog/fake-nrfjprog-worker';
const KEY = Uint8Array.from([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09]);
const CONTROL = Uint8Array.from([0xc0, 0x71, 0x20, 0x15, 0xde, 0xad, 0xbe, 0xef, 0x0b, 0xad, 0xf0, 0x0d, 0x12, 0x34, 0x56, 0x78]);

let session: ProbeSession;
let entries: ProbeLogEntry[];

beforeEach(async () => {
  session = await fakeNrfjprog({ probes: [{ serialNumber: SERIAL }] }).binding().open(SERIAL);
  entries = [];
  session.onLog((entry) => entries.push(entry));
});

afterEach(async () => {
  await session.close();
});

/** What reached the listener during `call` (a call's lines and summary arrive before it settles). */
async function logged(call: () => Promise<unknown>): Promise<ProbeLogEntry[]> {
  const from = entries.length;
  await call();
  return entries.slice(from);
}

const render = (e: ProbeLogEntry): string => `${e.source}: ${e.message}`;
const SUMMARY_OF_TWO = 'tfm-provision: 2 vendor log lines suppressed during a key-slot access';

it('a write outside the window is traced with its data, from the calling thread and from the vendor log thread', async () => {
  const lines = await logged(() => session.write(RAM, CONTROL));
  const carrying = linesCarrying(lines, CONTROL);
  expect(carrying.map((e) => e.source).sort()).toEqual([CALLING_THREAD, LOG_THREAD]);
  expect(carrying[0]!.message).toBe('write 16 bytes at 0x20000000: c0 71 20 15 de ad be ef 0b ad f0 0d 12 34 56 78');
  const word = await logged(() => session.writeU32(RAM, wordAt(CONTROL, 0)));
  expect(word.map(render)).toEqual([`${CALLING_THREAD}: write_u32 0x20000000 = 0x152071C0`, `${LOG_THREAD}: write_u32 0x20000000 = 0x152071C0`]);
});

it('key bytes written to and read from key slots appear in no forwarded line; each call says how many lines it dropped', async () => {
  const slot2 = KEY_WINDOW.slot(2);
  const slot3 = KEY_WINDOW.slot(3);
  // The KMU takes a slot's words only while that slot is selected (id = index + 1), and gives its
  // value back only when the slot's PERM says readable and active.
  const select = async (index: number): Promise<void> => {
    await session.writeU32(TARGETS.nrf5340.kmu.selectKeySlot, index + 1);
    await session.writeU32(kmuPermAddress(TARGETS.nrf5340, index), KMU_PERM_IDENTITY, { nvmc: true });
  };
  await select(2);
  const during = [
    ...(await logged(() => session.write(slot2, KEY, { nvmc: true }))),
    ...(await logged(async () => expect(await session.read(slot2, 16)).toEqual(KEY))),
  ];
  await select(3);
  during.push(
    ...(await logged(() => session.writeU32(slot3, wordAt(KEY, 4), { nvmc: true }))),
    ...(await logged(async () => expect(await session.readU32(slot3)).toBe(wordAt(KEY, 4)))),
  );
  // Two lines per call (one per thread): the one from the vendor's own thread was dropped as well.
  expect(during.map(render)).toEqual(Array(4).fill(SUMMARY_OF_TWO));
  expect(during.every((e) => e.level === 'debug')).toBe(true);
  expect(linesCarrying(entries, KEY)).toEqual([]);
  // Lines resume once the call is over.
  expect((await logged(() => session.readU32(RAM))).map((e) => e.source)).toEqual([CALLING_THREAD, LOG_THREAD]);
});

it('the window is exactly KEYSLOT.KEY[0..127] as lib/targets has it', async () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['the word before it (KEYSLOT.CONFIG[127].PERM)', KEY_WINDOW.start - 4, 4, false],
    ['a write straddling its start', KEY_WINDOW.start - 4, 8, true],
    ['its first byte', KEY_WINDOW.start, 1, true],
    ['its last word', KEY_WINDOW.end - 4, 4, true],
    ['a write straddling its end', KEY_WINDOW.end - 2, 4, true],
    ['the word after it', KEY_WINDOW.end, 4, false],
  ];
  for (const [what, address, length, suppressed] of cases) {
    // Past the window's end is past UICR: that write bus-faults, after the library logged it.
    const lines = await logged(() => session.write(address, CONTROL.subarray(0, length)).catch(() => undefined));
    const expected = suppressed ? [SUMMARY_OF_TWO] : [CALLING_THREAD, LOG_THREAD].map((source) => expect.stringMatching(new RegExp(`^${source}: write ${length} bytes`)));
    expect({ what, lines: lines.map(render) }).toEqual({ what, lines: expected });
  }
});

it('covers every key slot the provisioning flow writes, on every chip', () => {
  for (const chip of CHIP_NAMES) {
    const target = TARGETS[chip];
    for (const slot of [...target.huk.mkek, ...target.huk.mext, ...target.identityKey.slots]) {
      const address = kmuValueAddress(target, slot.index);
      expect(address >= KEY_WINDOW.start && address + 16 <= KEY_WINDOW.end).toBe(true);
    }
  }
});

it('accounts for every line the vendor thread emits on its own: forwarded outside a key-slot call, counted inside one', async () => {
  await session.close();
  const SCHEDULED = 400;
  const WRITES = 40;
  // Lines from the fake's log thread every 100 µs, while key writes go on.
  session = await fakeNrfjprog({ probes: [{ serialNumber: SERIAL }], logMessages: SCHEDULED, logIntervalUs: 100 }).binding().open(SERIAL);
  entries = [];
  session.onLog((entry) => entries.push(entry));
  const indices = (): number[] =>
    entries.flatMap((e) => {
      const match = new RegExp(`log message (\\d+) of ${SCHEDULED}$`).exec(e.message);
      return match ? [Number(match[1])] : [];
    });
  const dropped = (): number => entries.reduce((n, e) => n + Number(SUPPRESSED_LINE.exec(e.message)?.[1] ?? 0), 0);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  let deadline = Date.now() + 20_000;
  while (indices().length === 0 && Date.now() < deadline) await sleep(1);
  // Lines emitted before the listener was added are the only ones it cannot see.
  const missedBeforeListener = Math.min(...indices()) - 1;
  for (let i = 0; i < WRITES; i++) await session.write(KEY_WINDOW.slot(i % 8), KEY);
  expect(linesCarrying(entries, KEY)).toEqual([]);
  // Each write dropped its own two data traces, plus any scheduled line that arrived meanwhile.
  const accounted = (): number => missedBeforeListener + indices().length + dropped() - 2 * WRITES;
  deadline = Date.now() + 20_000;
  while (accounted() < SCHEDULED && Date.now() < deadline) await sleep(10);
  expect(accounted()).toBe(SCHEDULED);
  expect(new Set(indices()).size).toBe(indices().length);
});
