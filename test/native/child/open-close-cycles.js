'use strict';
// Run with --expose-gc. argv[2] cycles of open / read / close on one probe; prints RSS growth
// between a warm-up and the end, and the live probe threads left.
require('./register-ts');
const { fakeNrfjprog } = require('../../support/fake-vendor.ts');
const { loadNativeAddon } = require('../../../lib/probe/native.ts');

const CYCLES = Number(process.argv[2] ?? 10000);
const WARMUP = 500;

function settle() {
  for (let i = 0; i < 4; i++) global.gc();
  return new Promise((resolve) => setTimeout(resolve, 50));
}

(async () => {
  const binding = fakeNrfjprog({ probes: [{ serialNumber: 7 }] }).binding();
  const addon = loadNativeAddon();
  const cycle = async () => {
    const session = await binding.open(7);
    await session.read(0x00ff0200, 64);
    await session.close();
  };
  for (let i = 0; i < WARMUP; i++) await cycle();
  await settle();
  const before = process.memoryUsage().rss;
  const started = Date.now();
  for (let i = 0; i < CYCLES; i++) await cycle();
  const elapsedMs = Date.now() - started;
  await settle();
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ cycles: CYCLES, rssBefore: before, rssAfter: after, growth: after - before, elapsedMs, liveWorkers: addon.liveWorkers() }));
})();
