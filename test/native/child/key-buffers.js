'use strict';
// Run under LD_PRELOAD=<free-scan library> (test/fixtures/free-scan). Moves a key through the addon
// into and out of the KMU key-value window and reports how many freed blocks still held it.
//   argv[2]: 'nrfjprog' | 'jlink'
//   env KEY_HEX: the key (also FREE_SCAN_PATTERN); FREE_SCAN_OUT: the free-scan's report file
//   env FAKE_JLINK_CONFIG (jlink): the fake J-Link configuration
// Prints {"leaked": n, "readBack": bool, "controlLeaked": n}: `leaked` counts the blocks freed
// with the key in them during the addon calls; the control then frees one such block on purpose
// to show that the scan sees what the addon frees.
require('./register-ts');
const fs = require('node:fs');
const { NativeBinding } = require('../../../lib/probe/native.ts');

const [backend] = process.argv.slice(2);
const SLOT_2 = 0x00ff8820; // KEYSLOT.KEY[2].VALUE[0]
const SLOT_4 = 0x00ff8840;

// The key is rebuilt byte by byte: a Buffer.from(hex) would leave a copy in Node's buffer pool.
function keyFromHex(hex) {
  const key = new Uint8Array(hex.length / 2);
  for (let i = 0; i < key.length; i++) key[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return key;
}

function reported() {
  const text = fs.existsSync(process.env.FREE_SCAN_OUT) ? fs.readFileSync(process.env.FREE_SCAN_OUT, 'utf8') : '';
  return text.split('\n').filter(Boolean).length;
}

async function sleep(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

(async () => {
  const library = backend === 'jlink' ? process.env.FAKE_JLINK_LIBRARY : process.env.FAKE_NRFJPROG_LIBRARY;
  const binding = new NativeBinding({ backend, library });
  const serial = Number(process.env.PROBE_SERIAL);
  const session = await binding.open(serial);
  const before = reported();

  const key = keyFromHex(process.env.KEY_HEX);
  // A plain (non-NVMC) write: UICR ignores it, so the fake device never stores the key and only
  // the addon's own buffers (and the vendor call's) ever hold it.
  await session.write(SLOT_2, key, { nvmc: false });
  await session.write(SLOT_2 + 0x10, key.subarray(0, 8), { nvmc: false }); // half a key: no full match anywhere
  key.fill(0);
  let readBack = true;
  if (backend === 'nrfjprog') {
    // The fake was given the key as the initial words of slot 4 (kept in a hash map, not in a row).
    await session.writeU32(0x50039500, 5); // KMU.SELECTKEYSLOT = slot 4 (ids count from 1): its value reads back only then
    const read = await session.read(SLOT_4, 16);
    const expected = keyFromHex(process.env.KEY_HEX);
    readBack = read.length === expected.length && read.every((b, i) => b === expected[i]);
    expected.fill(0);
    read.fill(0);
  }
  await session.readU32(0x00ff020c); // one more round trip: every earlier job has been freed
  const leaked = reported() - before;

  // Control: a native block (an ArrayBuffer's store) with the key in it, dropped without zeroing.
  let control = new Uint8Array(new ArrayBuffer(4096));
  control.set(keyFromHex(process.env.KEY_HEX), 100);
  control = null;
  const beforeControl = reported();
  for (let i = 0; i < 50 && reported() === beforeControl; i++) {
    global.gc();
    await sleep(20);
  }
  const controlLeaked = reported() - beforeControl;
  await session.close();
  console.log(JSON.stringify({ leaked, readBack, controlLeaked }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
