'use strict';
/**
 * What the benches share: where the compiled package is, the fake nrfjprog setup they measure on,
 * timing of work on many probes at once, rounding of figures, and running one bench file alone.
 * Not a bench itself: bench/run.js runs only the *.bench.js files.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** Benches run the compiled code (`npm run bench` builds it first), not lib/. */
const dist = path.join(root, 'dist');

function fromDist(...parts) {
  return require(path.join(dist, ...parts));
}

function round(value, digits = 1) {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

/** ctx.log when bench/run.js (or the caller) gave one, else a no-op. */
function logOf(ctx) {
  return ctx && typeof ctx.log === 'function' ? ctx.log : () => undefined;
}

/**
 * The native binding on the fake nrfjprog library (built first when missing), with one fake probe
 * per serial number and `latencyUs` charged on every vendor call. writeFakeConfig points this
 * process's FAKE_NRFJPROG_CONFIG at the new configuration, which the library reads on each open.
 */
function fakeNrfjprogBinding({ latencyUs, serialNumbers, chip = 'nrf5340' }) {
  const { buildFakes, fakeLibraryPath, writeFakeConfig } = require(path.join(root, 'scripts', 'build-fakes.js'));
  buildFakes({ quiet: true });
  writeFakeConfig({ latencyUs, probes: serialNumbers.map((serialNumber) => ({ serialNumber, chip })) });
  const { NativeBinding } = fromDist('probe', 'native');
  return new NativeBinding({ backend: 'nrfjprog', library: fakeLibraryPath('full') });
}

/**
 * Runs `work(session)` on every session at once and times the lot; `work` resolves to the number
 * of probe operations it did. Returns { probes, operations, seconds, perSecond }.
 */
async function parallelThroughput(sessions, work) {
  const started = process.hrtime.bigint();
  const counts = await Promise.all(sessions.map((session) => work(session)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const operations = counts.reduce((a, b) => a + b, 0);
  return { probes: sessions.length, operations, seconds: round(seconds, 3), perSecond: Math.round(operations / seconds) };
}

/** `node bench/NAME.bench.js`: runs that bench alone and prints its figures as JSON on stdout. */
function runWhenMain(benchModule, run, ctx) {
  if (require.main !== benchModule) return;
  run(ctx).then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

module.exports = { root, dist, fromDist, round, logOf, fakeNrfjprogBinding, parallelThroughput, runWhenMain };
