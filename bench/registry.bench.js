'use strict';
/**
 * What the device registry costs (issue 17), against a private PostgreSQL server started for the
 * bench (test/support/postgres.ts, loaded through TypeScript's transpiler: one server harness):
 *
 *  - msPerDevice: the registry's own work for one device, the three round trips a run makes
 *    (reserve, begin, complete), one device after another on one connection pool; median of 200;
 *  - the 4 x 16 run: four station processes (the CLI) with 16 simulated devices each, in
 *    parallel, with and without --registry (one lot, enough quota), as devices per minute of wall
 *    time from the first spawn to the last exit.
 *
 * No server can start (no PostgreSQL binaries): the bench reports { skipped: reason }.
 * Run by bench/run.js (`npm run bench`), or alone: node bench/registry.bench.js
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { fromDist, logOf, round, runWhenMain } = require('./common');

const root = path.resolve(__dirname, '..');
const CYCLES = 200;
const STATIONS = 4;
const DEVICES = 16;

/** The tests' server harness, compiled on the fly (it is TypeScript and lives with the tests). */
function loadHarness() {
  const ts = require('typescript');
  const file = path.join(root, 'test', 'support', 'postgres.ts');
  const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const mod = { exports: {} };
  new Function('exports', 'require', 'module', '__filename', '__dirname', outputText)(mod.exports, require, mod, file, path.dirname(file));
  return mod.exports;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function station(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'station', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(cwd, 'locks') } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => {
      const devices = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter((l) => l.type === 'device');
      resolve({ code, provisioned: devices.filter((d) => d.outcome === 'provisioned').length });
    });
  });
}

/** Wall time of four stations of 16 devices in parallel; `registry` adds --registry/--lot. */
async function fourByDevices(dir, tag, registry) {
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: STATIONS }, (_, i) =>
      station(
        [
          '--sim-count', String(DEVICES), '--seed', `${tag}-${i}`, '--json',
          '--records', path.join(dir, `${tag}-${i}.jsonl`), '--station-key', path.join(dir, `${tag}-${i}.pem`),
          ...(registry ? ['--registry', registry.url, '--lot', registry.lot] : []),
        ],
        dir,
      ),
    ),
  );
  const ms = performance.now() - t0;
  const provisioned = runs.reduce((n, r) => n + r.provisioned, 0);
  if (provisioned !== STATIONS * DEVICES) throw new Error(`${tag}: ${provisioned} of ${STATIONS * DEVICES} devices provisioned`);
  return { ms: round(ms, 0), devicesPerMinute: round((provisioned * 60000) / ms, 0) };
}

async function run(ctx = {}) {
  const log = logOf(ctx);
  let harness;
  try {
    harness = loadHarness();
  } catch (error) {
    return { skipped: `the server harness could not be loaded: ${error.message}` };
  }
  const server = await harness.startPostgres().catch((error) => ({ error }));
  if (server === undefined || server.error !== undefined) {
    const reason = server && server.error ? server.error.message : 'no PostgreSQL server could start (install Debian\'s postgresql package)';
    log(`skipped: ${reason}`);
    return { skipped: reason };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-registry-'));
  const { PgRegistry } = fromDist('registry');
  const registry = new PgRegistry(server.adminUrl);
  try {
    await registry.migrate();
    await registry.createLot({ name: 'bench', chip: 'nrf5340', quota: CYCLES + 10 });
    await registry.createLot({ name: 'bench4x16', chip: 'nrf5340', quota: STATIONS * DEVICES });
    const times = [];
    for (let i = 0; i < CYCLES; i++) {
      const attempt = `bench-${i}`;
      const t0 = performance.now();
      await registry.reserve({ lot: 'bench', attempt, chip: 'nrf5340', deviceId: `b${String(i).padStart(15, '0')}`, station: 'bench', probeSerial: 1, implementationId: 'aa'.repeat(32), intent: { attempt } });
      await registry.begin(attempt);
      await registry.complete({ attempt, outcome: 'provisioned', verified: true, wroteDevice: true, identityPublicKey: `04${i.toString(16).padStart(128, '0')}`, result: { attempt } });
      times.push(performance.now() - t0);
    }
    const msPerDevice = round(median(times), 2);
    log(`registry work per device (reserve + begin + complete): ${msPerDevice} ms (median of ${CYCLES})`);
    const without = await fourByDevices(dir, 'plain', undefined);
    const withRegistry = await fourByDevices(dir, 'reg', { url: server.adminUrl, lot: 'bench4x16' });
    log(`4 x 16 devices: ${without.devicesPerMinute} devices/min without a registry, ${withRegistry.devicesPerMinute} with one`);
    return {
      msPerDevice,
      msPerDeviceP90: round([...times].sort((a, b) => a - b)[Math.floor(times.length * 0.9)], 2),
      fourBySixteen: { withoutRegistry: without, withRegistry },
      cores: os.cpus().length,
      loadAverage: os.loadavg().map((v) => round(v, 1)),
    };
  } finally {
    await registry.close();
    await server.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { run };
runWhenMain(module, run);
