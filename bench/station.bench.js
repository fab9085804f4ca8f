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
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
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
/** The large station (issue 16): one run of this many probes. */
const LARGE_PROBES = 64;
const FIRST_LARGE_SERIAL = 4001;

/**
 * CPU time the main (JavaScript) thread has run, in ms: Linux's per-thread schedstat (on-CPU
 * nanoseconds of the thread whose ID is the process ID), or undefined where there is none. The
 * event loop's active time (eventLoopUtilization) also counts the time the thread waited for a
 * core while busy, which on a loaded 2-core machine can be more than its CPU time.
 */
function mainThreadCpuMs() {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

function perMinute(devices, ms) {
  return ms > 0 ? (devices * 60000) / ms : 0;
}

async function run(ctx = {}) {
  const log = logOf(ctx);
  const { runStation } = fromDist('station');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-station-bench-'));
  const stationRounds = Array.from({ length: STATION_RUNS }, (_, r) => Array.from({ length: PROBES }, (_, i) => FIRST_STATION_SERIAL + 100 * r + i));
  const singleSerials = Array.from({ length: SINGLE_RUNS }, (_, i) => FIRST_SINGLE_SERIAL + i);
  const largeSerials = Array.from({ length: LARGE_PROBES }, (_, i) => FIRST_LARGE_SERIAL + i);
  const binding = fakeNrfjprogBinding({ latencyUs: LATENCY_US, serialNumbers: [WARMUP_SERIAL, ...singleSerials, ...stationRounds.flat(), ...largeSerials], chip: 'nrf5340' });
  const env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(work, 'locks') };

  try {
    // Warm-up (JIT, first use of everything) so the single-probe figure is not charged for it. Its
    // longest event-loop delay is the first-use spike of a one-device run (target: at most 10 ms).
    const firstLag = monitorEventLoopDelay({ resolution: 1 });
    firstLag.enable();
    const warmup = await runStation({ binding, serialNumbers: [WARMUP_SERIAL], records: path.join(work, 'warmup.jsonl'), env });
    firstLag.disable();
    if (warmup.counts.passed !== 1) throw new Error(`warm-up run did not pass: ${JSON.stringify(warmup.devices[0])}`);
    const firstUseSpikeMs = round(firstLag.max / 1e6, 2);

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
    // Main-thread CPU per device: the event loop's active time (eventLoopUtilization) over the
    // station runs, divided by the devices they provisioned; probe calls run on the addon's threads.
    // Also the thread's own CPU time (mainThreadCpuMs), which excludes time spent waiting for a core.
    const lag = monitorEventLoopDelay({ resolution: 1 });
    const stationDurations = [];
    let activeMs = 0;
    let threadCpuMs = 0;
    for (const serialNumbers of stationRounds) {
      lag.enable();
      const elu0 = performance.eventLoopUtilization();
      const cpu0 = mainThreadCpuMs();
      const station = await runStation({ binding, serialNumbers, records: path.join(work, 'station.jsonl'), env });
      const cpu1 = mainThreadCpuMs();
      activeMs += performance.eventLoopUtilization(elu0).active;
      threadCpuMs = cpu0 === undefined || cpu1 === undefined || threadCpuMs === undefined ? undefined : threadCpuMs + (cpu1 - cpu0);
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
    const cpuMsPerDevice = round(activeMs / (PROBES * STATION_RUNS), 2);
    const mainThreadCpuMsPerDevice = threadCpuMs === undefined ? null : round(threadCpuMs / (PROBES * STATION_RUNS), 2);

    const largeLag = monitorEventLoopDelay({ resolution: 1 });
    largeLag.enable();
    const large = await runStation({ binding, serialNumbers: largeSerials, records: path.join(work, 'large.jsonl'), env });
    largeLag.disable();
    if (large.counts.passed !== LARGE_PROBES) {
      const bad = large.devices.find((d) => d.outcome !== 'provisioned');
      throw new Error(`${LARGE_PROBES}-probe run: ${large.counts.passed}/${LARGE_PROBES} passed (first problem: ${JSON.stringify(bad)})`);
    }
    const largeRatio = round(perMinute(LARGE_PROBES, large.durationMs) / singleRate, 2);
    const largeP50 = round(largeLag.percentile(50) / 1e6, 2);
    const largeP99 = round(largeLag.percentile(99) / 1e6, 2);

    const figures = {
      name: `station: ${PROBES} probes in parallel (fake nrfjprog library, ${LATENCY_US / 1000} ms per call)`,
      singleProbe: { devices: 1, durationMs: singleMs, runs: singleDurations, devicesPerMinute: round(singleRate) },
      station: { devices: PROBES, durationMs: stationMs, runs: stationDurations, devicesPerMinute: round(stationRate) },
      ratioToSingleProbe: ratio,
      eventLoopDelayMs: { p50, p99, max },
      large: { devices: LARGE_PROBES, durationMs: large.durationMs, devicesPerMinute: round(perMinute(LARGE_PROBES, large.durationMs)), ratioToSingleProbe: largeRatio, eventLoopDelayMs: { p50: largeP50, p99: largeP99, max: round(largeLag.max / 1e6, 2) } },
      cpuMsPerDevice,
      mainThreadCpuMsPerDevice,
      firstUseSpikeMs,
      expectation: `16 probes >= 14.5x one probe, ${LARGE_PROBES} probes >= 50x, event-loop p99 < 5 ms in the ${LARGE_PROBES}-probe run, main-thread CPU <= 2 ms per device, first-use spike <= 10 ms`,
      expectationMet: ratio >= 14.5 && largeRatio >= 50 && largeP99 < 5 && cpuMsPerDevice <= 2 && firstUseSpikeMs <= 10,
    };
    log(
      `station: ${round(stationRate)} devices/min with ${PROBES} probes vs ${round(singleRate)} with one (x${ratio}); ` +
        `event-loop delay p50 ${p50} ms, p99 ${p99} ms, max ${max} ms; ${LARGE_PROBES} probes x${largeRatio} (p99 ${largeP99} ms); ` +
        `main-thread CPU ${cpuMsPerDevice} ms/device as event-loop active time, ${mainThreadCpuMsPerDevice ?? '-'} ms as the thread's CPU time; first-use spike ${firstUseSpikeMs} ms`,
    );
    return figures;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { run };

runWhenMain(module, run, { log: (line) => console.error(line) });
