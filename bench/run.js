'use strict';
/**
 * Runs every bench/*.bench.js module and prints its figures; writes them all as JSON.
 *
 *   node bench/run.js [--only NAME] [--json PATH]
 *
 * A bench module exports `async run(ctx) => figures` (a JSON-able object). ctx.log(text) prints a
 * line under the bench's name; ctx.root and ctx.dist are the package root and the compiled dist/
 * folder (benches run the compiled code: `npm run bench` builds it first). NAME is the file name
 * without `.bench.js`. Default JSON path: bench/results.json.
 */
const fs = require('node:fs');
const path = require('node:path');

function parseArgs(argv) {
  const options = { only: [], json: path.join(__dirname, 'results.json') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only' && argv[i + 1]) options.only.push(argv[++i]);
    else if (arg.startsWith('--only=')) options.only.push(arg.slice('--only='.length));
    else if (arg === '--json' && argv[i + 1]) options.json = path.resolve(argv[++i]);
    else if (arg.startsWith('--json=')) options.json = path.resolve(arg.slice('--json='.length));
    else throw new Error(`unknown argument "${arg}" (usage: node bench/run.js [--only NAME] [--json PATH])`);
  }
  return options;
}

/**
 * The issue-16 figures under stable keys (README's benchmark table reads these names), each null
 * when its bench did not run or failed.
 */
function summarise(results) {
  const strategies = results.strategies && !results.strategies.error ? results.strategies : undefined;
  const station = results.station && !results.station.error ? results.station : undefined;
  const registry = results.registry && !results.registry.error && !results.registry.skipped ? results.registry : undefined;
  const pick = (value) => (value === undefined ? null : value);
  return {
    operations: {
      host: strategies ? strategies.hostOperations : null,
      image: strategies ? { nrf5340: strategies.image.operations } : null,
    },
    cpuMsPerDevice: pick(station && station.cpuMsPerDevice),
    mainThreadCpuMsPerDevice: pick(station && station.mainThreadCpuMsPerDevice),
    firstUseSpikeMs: pick(station && station.firstUseSpikeMs),
    stationRatio16: pick(station && station.ratioToSingleProbe),
    stationRatio64: pick(station && station.large.ratioToSingleProbe),
    eventLoopP50Ms: pick(station && station.large.eventLoopDelayMs.p50),
    eventLoopP99Ms: pick(station && station.large.eventLoopDelayMs.p99),
    imageMsBlank: pick(strategies && strategies.image.perDeviceMs),
    imageMsUsed: pick(strategies && strategies.imageUsedPart.perDeviceMs),
    // issue 17: the registry's work per device, and the 4 x 16 station run with and without it
    registryMsPerDevice: pick(registry && registry.msPerDevice),
    station4x16PerMinuteWithoutRegistry: pick(registry && registry.fourBySixteen.withoutRegistry.devicesPerMinute),
    station4x16PerMinuteWithRegistry: pick(registry && registry.fourBySixteen.withRegistry.devicesPerMinute),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const available = fs
    .readdirSync(__dirname)
    .filter((file) => file.endsWith('.bench.js'))
    .map((file) => file.slice(0, -'.bench.js'.length))
    .sort();
  const unknown = options.only.filter((name) => !available.includes(name));
  if (unknown.length) throw new Error(`no bench named ${unknown.join(', ')} (available: ${available.join(', ')})`);
  const selected = options.only.length ? available.filter((name) => options.only.includes(name)) : available;

  const results = {};
  let failed = false;
  for (const name of selected) {
    const ctx = {
      root: path.resolve(__dirname, '..'),
      dist: path.resolve(__dirname, '..', 'dist'),
      log: (text) => console.log(`  ${text}`),
    };
    console.log(`bench ${name}`);
    const started = Date.now();
    try {
      const figures = await require(path.join(__dirname, `${name}.bench.js`)).run(ctx);
      results[name] = figures;
      console.log(JSON.stringify(figures, null, 2).replace(/^/gm, '  '));
      console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      failed = true;
      results[name] = { error: error instanceof Error ? error.message : String(error) };
      console.error(`  failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  const summary = summarise(results);
  console.log(`summary\n${JSON.stringify(summary, null, 2).replace(/^/gm, '  ')}`);
  fs.mkdirSync(path.dirname(options.json), { recursive: true });
  fs.writeFileSync(options.json, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, summary, results }, null, 2)}\n`);
  console.log(`figures written to ${path.relative(process.cwd(), options.json) || options.json}`);
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
