'use strict';
/**
 * Probe throughput through the real native addon on the fake nrfjprog library at 1 ms per vendor
 * call: operations per second on 1 probe, on 16 probes in parallel, and the ratio. Every probe has
 * its own thread, so 16 probes should give close to 16x (target: at least 12x); the libuv pool's
 * 4 threads would cap it at 4x.
 *
 * Run by bench/run.js (`npm run bench`, which builds dist/ and the fakes first); or alone:
 * node bench/probe.bench.js
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { NativeBinding } = require(path.join(root, 'dist', 'probe', 'native'));
const { buildFakes, fakeLibraryPath, writeFakeConfig } = require(path.join(root, 'scripts', 'build-fakes.js'));

const LATENCY_US = 1000;
const PROBES = 16;
const DURATION_MS = 3000;
const TARGET_RATIO = 12;
const RAM = 0x20000000;

/** Sequential readU32 calls on each session (each awaits its previous call) for DURATION_MS. */
async function throughput(sessions) {
  const until = Date.now() + DURATION_MS;
  const started = process.hrtime.bigint();
  const counts = await Promise.all(
    sessions.map(async (session) => {
      let done = 0;
      while (Date.now() < until) {
        await session.readU32(RAM);
        done++;
      }
      return done;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const operations = counts.reduce((a, b) => a + b, 0);
  return { probes: sessions.length, operations, seconds: Math.round(seconds * 1000) / 1000, opsPerSecond: Math.round(operations / seconds) };
}

async function run(ctx = {}) {
  buildFakes({ quiet: true });
  const serials = Array.from({ length: PROBES }, (_, i) => 9000 + i);
  writeFakeConfig({ latencyUs: LATENCY_US, probes: serials.map((serialNumber) => ({ serialNumber })) });
  const binding = new NativeBinding({ backend: 'nrfjprog', library: fakeLibraryPath('full') });
  const sessions = [];
  try {
    for (const serial of serials) sessions.push(await binding.open(serial));
    await throughput(sessions.slice(0, 1)); // warm-up
    const single = await throughput(sessions.slice(0, 1));
    const parallel = await throughput(sessions);
    const ratio = Math.round((parallel.opsPerSecond / single.opsPerSecond) * 10) / 10;
    const figures = {
      name: 'probe calls through the native addon (fake nrfjprog library)',
      latencyUsPerCall: LATENCY_US,
      oneProbe: single,
      sixteenProbes: parallel,
      ratio,
      // what one call costs beyond the vendor latency: queue, thread hand-off, promise
      overheadUsPerCall: Math.round(1e6 / single.opsPerSecond - LATENCY_US),
      target: `16 probes >= ${TARGET_RATIO}x one probe`,
      targetMet: ratio >= TARGET_RATIO,
    };
    if (typeof ctx.log === 'function') {
      ctx.log(`1 probe ${single.opsPerSecond} ops/s, 16 probes ${parallel.opsPerSecond} ops/s: ${ratio}x (target ${TARGET_RATIO}x)`);
    }
    return figures;
  } finally {
    await Promise.all(sessions.map((session) => session.close()));
  }
}

module.exports = { run };

if (require.main === module) {
  run().then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
