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
const { fakeNrfjprogBinding, logOf, parallelThroughput, round, runWhenMain } = require('./common');

const LATENCY_US = 1000;
const PROBES = 16;
const DURATION_MS = 3000;
const TARGET_RATIO = 12;
const RAM = 0x20000000;

/** Sequential readU32 calls on each session (each awaits its previous call) for DURATION_MS. */
async function throughput(sessions) {
  const until = Date.now() + DURATION_MS;
  const { perSecond, ...counts } = await parallelThroughput(sessions, async (session) => {
    let done = 0;
    while (Date.now() < until) {
      await session.readU32(RAM);
      done++;
    }
    return done;
  });
  return { ...counts, opsPerSecond: perSecond };
}

async function run(ctx = {}) {
  const serials = Array.from({ length: PROBES }, (_, i) => 9000 + i);
  const binding = fakeNrfjprogBinding({ latencyUs: LATENCY_US, serialNumbers: serials });
  const sessions = [];
  try {
    for (const serial of serials) sessions.push(await binding.open(serial));
    await throughput(sessions.slice(0, 1)); // warm-up
    const single = await throughput(sessions.slice(0, 1));
    const parallel = await throughput(sessions);
    const ratio = round(parallel.opsPerSecond / single.opsPerSecond);
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
    logOf(ctx)(`1 probe ${single.opsPerSecond} ops/s, 16 probes ${parallel.opsPerSecond} ops/s: ${ratio}x (target ${TARGET_RATIO}x)`);
    return figures;
  } finally {
    await Promise.all(sessions.map((session) => session.close()));
  }
}

module.exports = { run };

runWhenMain(module, run);
