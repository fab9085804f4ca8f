'use strict';
/**
 * Station throughput and event-loop health: 16 probes provisioned in parallel through the real
 * native addon against the fake nrfjprog library at 1 ms per vendor call, compared with one probe
 * on the same library. Records are written (and fsynced) as in production; probe locks are taken.
 *
 * Figures: devices per minute for one probe and for the 16-probe station, their ratio (target at
 * least 12: the station must really run the probes in parallel), and the event-loop delay p50/p99
 * during the station run (perf_hooks.monitorEventLoopDelay; target p99 under 10 ms: nothing on the
 * event loop waits for a probe).
 *
 * Run by bench/run.js (`npm run bench`), which builds dist/ first; or alone: node bench/station.bench.js
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { fakeNrfjprogBinding, fromDist, logOf, round, runWhenMain } = require('./common');

const LATENCY_US = 1000;
const PROBES = 16;
const WARMUP_SERIAL = 3000;
/** The single-probe rate is the median of this many one-probe runs (one device each). */
const SINGLE_RUNS = 5;
const FIRST_SINGLE_SERIAL = 3001;
const FIRST_STATION_SERIAL = 3101;
/** The station rate is the median of this many 16-probe runs (fresh devices each time). */
const STATION_RUNS = 3;

function perMinute(devices, ms) {
  return ms > 0 ? (devices * 60000) / ms : 0;
}

async function run(ctx = {}) {
  const log = logOf(ctx);
  const { runStation } = fromDist('station');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-station-bench-'));
  const stationRounds = Array.from({ length: STATION_RUNS }, (_, r) => Array.from({ length: PROBES }, (_, i) => FIRST_STATION_SERIAL + 100 * r + i));
  const singleSerials = Array.from({ length: SINGLE_RUNS }, (_, i) => FIRST_SINGLE_SERIAL + i);
  const binding = fakeNrfjprogBinding({ latencyUs: LATENCY_US, serialNumbers: [WARMUP_SERIAL, ...singleSerials, ...stationRounds.flat()], chip: 'nrf5340' });
  const env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(work, 'locks') };

  try {
    // Warm-up (JIT, curve tables) so the single-probe figure is not charged for it.
    const warmup = await runStation({ binding, serialNumbers: [WARMUP_SERIAL], records: path.join(work, 'warmup.jsonl'), env });
    if (warmup.counts.passed !== 1) throw new Error(`warm-up run did not pass: ${JSON.stringify(warmup.devices[0])}`);

    const singleDurations = [];
    for (const serial of singleSerials) {
      const single = await runStation({ binding, serialNumbers: [serial], records: path.join(work, 'single.jsonl'), env });
      if (single.counts.passed !== 1) throw new Error(`single-probe run did not pass: ${JSON.stringify(single.devices[0])}`);
      singleDurations.push(single.durationMs);
    }
    singleDurations.sort((a, b) => a - b);
    const singleMs = singleDurations[Math.floor(singleDurations.length / 2)];
    const singleRate = perMinute(1, singleMs);

    // The event-loop delay is sampled over the station runs only (1 ms resolution).
    const lag = monitorEventLoopDelay({ resolution: 1 });
    const stationDurations = [];
    for (const serialNumbers of stationRounds) {
      lag.enable();
      const station = await runStation({ binding, serialNumbers, records: path.join(work, 'station.jsonl'), env });
      lag.disable();
      if (station.counts.passed !== PROBES) {
        const bad = station.devices.find((d) => d.outcome !== 'provisioned');
        throw new Error(`station run: ${station.counts.passed}/${PROBES} passed (first problem: ${JSON.stringify(bad)})`);
      }
      stationDurations.push(station.durationMs);
    }
    stationDurations.sort((a, b) => a - b);
    const stationMs = stationDurations[Math.floor(stationDurations.length / 2)];
    const stationRate = perMinute(PROBES, stationMs);
    const ratio = round(stationRate / singleRate, 2);
    const p50 = round(lag.percentile(50) / 1e6, 2);
    const p99 = round(lag.percentile(99) / 1e6, 2);
    const max = round(lag.max / 1e6, 2);

    const figures = {
      name: `station: ${PROBES} probes in parallel (fake nrfjprog library, ${LATENCY_US / 1000} ms per call)`,
      singleProbe: { devices: 1, durationMs: singleMs, runs: singleDurations, devicesPerMinute: round(singleRate) },
      station: { devices: PROBES, durationMs: stationMs, runs: stationDurations, devicesPerMinute: round(stationRate) },
      ratioToSingleProbe: ratio,
      eventLoopDelayMs: { p50, p99, max },
      expectation: 'ratio >= 12 and event-loop delay p99 < 10 ms',
      expectationMet: ratio >= 12 && p99 < 10,
    };
    log(
      `station: ${round(stationRate)} devices/min with ${PROBES} probes vs ${round(singleRate)} with one (x${ratio}); ` +
        `event-loop delay p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`,
    );
    return figures;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { run };

runWhenMain(module, run, { log: (line) => console.error(line) });
