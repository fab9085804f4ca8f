'use strict';
// shutdown() while a finished call's result is still queued for the JS thread: the result (and the
// thread's last message) arrive after shutdown() released the worker. argv[2]: 'list' (a listing's
// worker, whose owner detached at once) or 'session' (then the session is collected as well).
// Prints {"settled": ...} when the process got through it; under AddressSanitizer a use after free
// ends it with a report instead.
require('./register-ts');
const { loadNativeAddon } = require('../../../lib/probe/native.ts');
const { fakeNrfjprog } = require('../../support/fake-vendor.ts');

const busyWait = (ms) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the worker thread finishes the call and queues its result meanwhile
  }
};

(async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 77 }] });
  const addon = loadNativeAddon();
  const library = new addon.Library('nrfjprog', fake.libraryPath);
  let settled = 0;
  if (process.argv[2] === 'session') {
    let session = new addon.Session(library);
    await session.open(77, 0, 'UNKNOWN');
    session.readU32(0x20000000).then(() => settled++, () => settled++);
    busyWait(300);
    addon.shutdown();
    session = null;
    if (global.gc) global.gc();
  } else {
    library.list().then(() => settled++, () => settled++);
    busyWait(300);
    addon.shutdown();
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // the queued messages are delivered now
  if (global.gc) global.gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  console.log(JSON.stringify({ settled }));
})();
