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

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

const LATENCY_US = 1000;
const PROBES = 16;
const WARMUP_SERIAL = 3000;
/** The single-probe rate is the median of this many one-probe runs (one device each). */
const SINGLE_RUNS = 5;
const FIRST_SINGLE_SERIAL = 3001;
const FIRST_STATION_SERIAL = 3101;

/** The fake library's configuration (format: test/fixtures/fake-nrfjprog/fake_nrfjprog.c). */
function writeFakeConfig(dir, serials) {
  const lines = [`generation bench-${process.pid}-${Date.now()}`, `latency_us ${LATENCY_US}`, 'recover_writes_approtect 1'];
  for (const serial of serials) {
    lines.push(`probe serial=${serial} chip=nrf5340 device_id=${serial.toString(16).padStart(16, '0')}`);
  }
  const file = path.join(dir, 'fake-nrfjprog.conf');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function perMinute(devices, ms) {
  return ms > 0 ? (devices * 60000) / ms : 0;
}

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function run(ctx = {}) {
  const log = ctx && typeof ctx.log === 'function' ? ctx.log : () => undefined;
  const { buildFakes, fakeLibraryPath } = require(path.join(root, 'scripts', 'build-fakes.js'));
  buildFakes({ quiet: true });
  const { NativeBinding } = require(path.join(dist, 'probe', 'native'));
  const { runStation } = require(path.join(dist, 'station'));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-station-bench-'));
  const stationSerials = Array.from({ length: PROBES }, (_, i) => FIRST_STATION_SERIAL + i);
  // Plain Node: the fake library reads this variable with getenv() when a probe is opened.
  const singleSerials = Array.from({ length: SINGLE_RUNS }, (_, i) => FIRST_SINGLE_SERIAL + i);
  process.env.FAKE_NRFJPROG_CONFIG = writeFakeConfig(work, [WARMUP_SERIAL, ...singleSerials, ...stationSerials]);
  const env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(work, 'locks') };
  const binding = new NativeBinding({ backend: 'nrfjprog', library: fakeLibraryPath('full') });

  try {
    // Warm-up (JIT, curve tables) so the single-probe figure is not charged for it.
    await runStation({ binding, serialNumbers: [WARMUP_SERIAL], records: path.join(work, 'warmup.jsonl'), env });

    const singleDurations = [];
    for (const serial of singleSerials) {
      const single = await runStation({ binding, serialNumbers: [serial], records: path.join(work, 'single.jsonl'), env });
      if (single.counts.passed !== 1) throw new Error(`single-probe run did not pass: ${JSON.stringify(single.devices[0])}`);
      singleDurations.push(single.durationMs);
    }
    singleDurations.sort((a, b) => a - b);
    const singleMs = singleDurations[Math.floor(singleDurations.length / 2)];
    const singleRate = perMinute(1, singleMs);

    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const station = await runStation({ binding, serialNumbers: stationSerials, records: path.join(work, 'station.jsonl'), env });
    lag.disable();
    if (station.counts.passed !== PROBES) {
      const bad = station.devices.find((d) => d.outcome !== 'provisioned');
      throw new Error(`station run: ${station.counts.passed}/${PROBES} passed (first problem: ${JSON.stringify(bad)})`);
    }
    const stationRate = perMinute(PROBES, station.durationMs);
    const ratio = round(stationRate / singleRate, 2);
    const p50 = round(lag.percentile(50) / 1e6, 2);
    const p99 = round(lag.percentile(99) / 1e6, 2);
    const max = round(lag.max / 1e6, 2);

    const figures = {
      name: `station: ${PROBES} probes in parallel (fake nrfjprog library, ${LATENCY_US / 1000} ms per call)`,
      singleProbe: { devices: 1, durationMs: singleMs, runs: singleDurations, devicesPerMinute: round(singleRate) },
      station: { devices: PROBES, durationMs: station.durationMs, devicesPerMinute: round(stationRate) },
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

if (require.main === module) {
  run({ log: (line) => console.error(line) }).then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
