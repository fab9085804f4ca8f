'use strict';
/**
 * Probe-parallel throughput of the `jlink` backend: readU32 operations per second with 1 probe and
 * with 16 probes open at once, through the real addon against the fake libjlinkarm at 1 ms per
 * library call (about what one USB round trip to a J-Link costs). Each probe session has its own
 * private copy of the library and its own worker thread, so 16 probes should approach 16 times the
 * rate of one; the target is at least 12 times.
 *
 * Run by bench/run.js (`npm run bench`), which builds dist/ and the fakes first; or alone:
 * node bench/jlink.bench.js (after `npm run build:ts` and `node scripts/build-fakes.js`).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, fromDist, logOf, parallelThroughput, round, runWhenMain } = require('./common');

const { NativeBinding } = fromDist('probe', 'native');
const { buildJlinkFakes, fakeJlinkLibraryPath } = require(path.join(root, 'scripts', 'build-fakes.js'));

const LATENCY_US = 1000;
const OPERATIONS_PER_PROBE = 400;
const MANY = 16;
const TARGET_RATIO = 12;

async function measure(binding, serials) {
  const sessions = await Promise.all(serials.map((serial) => binding.open(serial, { family: 'NRF53' })));
  try {
    await Promise.all(sessions.map((s) => s.readU32(0x00ff020c))); // warm: threads and copies ready
    const { perSecond, ...counts } = await parallelThroughput(sessions, async (session) => {
      for (let i = 0; i < OPERATIONS_PER_PROBE; i++) await session.readU32(0x20000000 + 4 * (i % 256));
      return OPERATIONS_PER_PROBE;
    });
    return { ...counts, operationsPerSecond: perSecond };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

async function run(ctx = {}) {
  buildJlinkFakes({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-jlink-bench-'));
  const serials = Array.from({ length: MANY }, (_, i) => 1050000100 + i);
  const config = path.join(dir, 'fake-jlink.conf');
  fs.writeFileSync(config, [`latency_us ${LATENCY_US}`, 'state_dir none', ...serials.map((s) => `probe ${s} nrf5340`)].join('\n') + '\n');
  const previous = process.env.FAKE_JLINK_CONFIG;
  process.env.FAKE_JLINK_CONFIG = config; // a plain Node process: this is a real setenv()
  try {
    const binding = new NativeBinding({ backend: 'jlink', library: fakeJlinkLibraryPath() });
    const one = await measure(binding, serials.slice(0, 1));
    const many = await measure(binding, serials);
    const ratio = round(many.operationsPerSecond / one.operationsPerSecond);
    const figures = {
      name: 'jlink backend: probe-parallel readU32 throughput',
      model: `fake libjlinkarm, ${LATENCY_US} us per library call, ${OPERATIONS_PER_PROBE} readU32 per probe`,
      oneProbe: one,
      sixteenProbes: many,
      ratio,
      expectation: `16 probes at least ${TARGET_RATIO}x one probe`,
      expectationMet: ratio >= TARGET_RATIO,
    };
    logOf(ctx)(`jlink: 1 probe ${one.operationsPerSecond} ops/s, 16 probes ${many.operationsPerSecond} ops/s: ${ratio}x (target ${TARGET_RATIO}x)`);
    return figures;
  } finally {
    if (previous === undefined) delete process.env.FAKE_JLINK_CONFIG;
    else process.env.FAKE_JLINK_CONFIG = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { run };

runWhenMain(module, run, { log: (line) => console.error(line) });
