'use strict';
// Two probes whose calls hang for different times when the process exits: the parent checks from
// the fake's trace which vendor instances were closed before the process ended.
require('./register-ts');
const { fakeNrfjprog } = require('../../support/fake-vendor.ts');

(async () => {
  const [fast, slow, fastMs, slowMs] = process.argv.slice(2).map(Number);
  const fake = fakeNrfjprog({
    probes: [{ serialNumber: fast }, { serialNumber: slow }],
    trace: true,
    hangs: [
      { function: 'NRFJPROG_read_u32_inst', ms: fastMs, serialNumber: fast },
      { function: 'NRFJPROG_read_u32_inst', ms: slowMs, serialNumber: slow },
    ],
  });
  const binding = fake.binding();
  const sessions = [await binding.open(fast), await binding.open(slow)];
  console.log(JSON.stringify({ tracePath: fake.tracePath }));
  for (const session of sessions) session.readU32(0x20000000).catch(() => undefined);
  setTimeout(() => process.exit(0), 200); // both calls are hanging now
})();
