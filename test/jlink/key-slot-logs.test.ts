/**
 * J-Link's log traces memory calls with their data (WriteU32 values, WriteMemEx / ReadMemEx bytes),
 * and so does the fake libjlinkarm. Through the real addon: a key written to and read from the KMU
 * key-value window shows up in no forwarded log line, while the same kind of access elsewhere is
 * traced, data and all.
 */
import type { ProbeLogEntry, ProbeSession } from '../../lib/probe/types';
import { SECURE_KMU } from '../../lib/targets';
import { KEY_WINDOW, SUPPRESSED_LINE, linesCarrying, wordAt } from '../native/key-log-scan';
import { fakeJlinkBinding, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';

const RAM = 0x20000000;
const NRF5340 = 7301;
const NRF9160 = 7302;
const KEY = Uint8Array.from([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09]);
const CONTROL = Uint8Array.from([0xc0, 0x71, 0x20, 0x15, 0xde, 0xad, 0xbe, 0xef, 0x0b, 0xad, 0xf0, 0x0d, 0x12, 0x34, 0x56, 0x78]);

let fake: FakeJlinkSetup;
let session: ProbeSession;
let entries: ProbeLogEntry[];

beforeAll(async () => {
  fake = await setupFakeJlink({ probes: [{ serial: NRF5340, chip: 'nrf5340' }, { serial: NRF9160, chip: 'nrf9160' }], keepState: false });
});
afterAll(async () => {
  await fake.dispose();
});
afterEach(async () => {
  await session.close();
});

async function open(serial: number): Promise<void> {
  session = await fakeJlinkBinding().open(serial);
  entries = [];
  session.onLog((entry) => entries.push(entry));
}

async function logged(call: () => Promise<unknown>): Promise<ProbeLogEntry[]> {
  const from = entries.length;
  await call();
  return entries.slice(from);
}

/** The N of each summary line; fails on any other line. */
function summaries(lines: ProbeLogEntry[]): number[] {
  return lines.map((e) => {
    expect(`${e.source}: ${e.message}`).toMatch(/^tfm-provision: /);
    return Number(SUPPRESSED_LINE.exec(e.message)![1]);
  });
}

describe.each([
  ['nRF5340', NRF5340],
  ['nRF9160', NRF9160],
])('%s', (_name, serial) => {
  it('traces memory calls outside the key window with their data', async () => {
    await open(serial);
    const write = await logged(() => session.write(RAM, CONTROL));
    expect(linesCarrying(write, CONTROL).map((e) => `${e.source}: ${e.message}`)).toEqual([
      'jlink: write 16 bytes at 0x20000000: c0 71 20 15 de ad be ef 0b ad f0 0d 12 34 56 78',
    ]);
    const word = await logged(() => session.writeU32(RAM, wordAt(CONTROL, 0)));
    expect(word.map((e) => e.message)).toContain('write_u32 0x20000000 = 0x152071C0');
    const read = await logged(() => session.read(RAM, 16));
    expect(linesCarrying(read, CONTROL.subarray(4))).toHaveLength(1);
  });

  // The fake models the KMU: a slot's words are written, and read back, only while it is selected.
  const selectSlot = (n: number): Promise<void> => session.writeU32(SECURE_KMU.selectKeySlot, n + 1);

  it('forwards no line carrying key bytes written to or read from key slots, only how many were dropped', async () => {
    await open(serial);
    await selectSlot(2);
    const counts = [
      ...summaries(await logged(() => session.write(KEY_WINDOW.slot(2), KEY, { nvmc: true }))),
      ...summaries(await logged(async () => expect(await session.read(KEY_WINDOW.slot(2), 16)).toEqual(KEY))),
    ];
    await selectSlot(3);
    counts.push(
      ...summaries(await logged(() => session.writeU32(KEY_WINDOW.slot(3), wordAt(KEY, 8), { nvmc: true }))),
      ...summaries(await logged(async () => expect(await session.readU32(KEY_WINDOW.slot(3))).toBe(wordAt(KEY, 8)))),
    );
    await selectSlot(127);
    counts.push(...summaries(await logged(() => session.write(KEY_WINDOW.end - 8, KEY.subarray(8), { nvmc: true }))));
    // One summary per call; an NVMC write is several J-Link calls (READY polls, CONFIG, the data).
    expect(counts).toHaveLength(5);
    expect(counts[0]).toBeGreaterThan(3);
    expect(counts[1]).toBe(1);
    expect(counts[3]).toBe(1);
    expect(linesCarrying(entries, KEY)).toEqual([]);
  });

  it('traces the word just below the window (KEYSLOT.CONFIG[127].PERM)', async () => {
    await open(serial);
    await selectSlot(127);
    const address = KEY_WINDOW.start - 4;
    const lines = await logged(() => session.write(address, CONTROL.subarray(0, 4)));
    expect(lines.map((e) => e.message)).toContain(`write_u32 0x${address.toString(16).toUpperCase().padStart(8, '0')} = 0x152071C0`);
  });
});
