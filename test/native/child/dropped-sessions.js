'use strict';
// Run with --expose-gc. Opens probes, drops the sessions without close() (one with calls still
// queued), collects them, and reports whether every probe thread ended and every vendor instance
// was closed by the finalizer path.
require('./register-ts');
const { fakeNrfjprog } = require('../../support/fake-vendor.ts');
const { loadNativeAddon } = require('../../../lib/probe/native.ts');

const COUNT = 8;

async function openAndDrop(binding) {
  for (let serial = 1; serial <= COUNT; serial++) {
    const session = await binding.open(serial);
    await session.writeU32(0x20000000, serial);
    if (serial === 1) {
      // queued, not awaited: the worker still runs these before the finalizer's close
      session.readU32(0x20000000).catch(() => undefined);
      session.halt().catch(() => undefined);
    }
  }
}

(async () => {
  const probes = Array.from({ length: COUNT }, (_, i) => ({ serialNumber: i + 1 }));
  const fake = fakeNrfjprog({ probes, trace: true, latencyUs: 200 });
  const binding = fake.binding();
  const addon = loadNativeAddon();
  await openAndDrop(binding);
  const liveAfterOpen = addon.liveWorkers();
  const deadline = Date.now() + 20000;
  while (addon.liveWorkers() > 0 && Date.now() < deadline) {
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const liveAfterGc = addon.liveWorkers();
  const trace = fake.readTrace();
  const count = (fn) => trace.filter((entry) => entry.function === fn).length;
  // The probes are free again: a new session on each opens without PROBE_BUSY.
  let reopened = 0;
  for (let serial = 1; serial <= COUNT; serial++) {
    const session = await binding.open(serial);
    reopened += (await session.readU32(0x20000000)) === serial ? 1 : 0;
    await session.close();
  }
  console.log(
    JSON.stringify({
      liveAfterOpen,
      liveAfterGc,
      opened: count('NRFJPROG_open_dll_inst'),
      closed: count('NRFJPROG_close_dll_inst'),
      queuedHaltRan: count('NRFJPROG_halt_inst'),
      reopened,
    }),
  );
})();
