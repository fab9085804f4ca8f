'use strict';
// Opens probes and ends without closing them: argv[2] = 'drain' lets the event loop run dry,
// 'exit' calls process.exit() while calls are still queued. The parent checks that this process
// ends on its own and that every vendor instance was closed (by the env cleanup hooks).
require('./register-ts');
const { fakeNrfjprog } = require('../../support/fake-vendor.ts');

(async () => {
  const probes = [1, 2, 3, 4].map((serialNumber) => ({ serialNumber }));
  const fake = fakeNrfjprog({ probes, trace: true, latencyUs: 2000, logMessages: 1000, logIntervalUs: 500 });
  const binding = fake.binding();
  const sessions = [];
  for (const { serialNumber } of probes) sessions.push(await binding.open(serialNumber));
  console.log(JSON.stringify({ tracePath: fake.tracePath }));
  if (process.argv[2] === 'exit') {
    for (const session of sessions) for (let i = 0; i < 50; i++) session.readU32(0x20000000).catch(() => undefined);
    setTimeout(() => process.exit(0), 10);
  } else {
    await Promise.all(sessions.map((session) => session.readU32(0x20000000)));
    globalThis.keep = sessions; // still referenced: only the exit path can close them
  }
})();
