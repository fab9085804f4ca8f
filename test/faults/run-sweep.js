#!/usr/bin/env node
'use strict';
/**
 * Runs the fault sweep (sweep.ts) in a plain Node process and writes its report as JSON.
 *
 * Why a separate process: inside Jest, test code sees a copy of `process`, so its
 * 'uncaughtException' / 'unhandledRejection' listeners never fire; here they are the real ones,
 * installed before any product code loads, and the report counts what they caught.
 *
 *   node test/faults/run-sweep.js [--chips nrf5340,nrf9160] [--strategies host] [--out FILE]
 *                                 [--plant-uncaught]   (control: plant one of each, to prove detection)
 *
 * TypeScript is loaded with a tiny transpile-only require hook (the `typescript` dev dependency),
 * so the sweep runs against the sources, exactly as the Jest suites do.
 */
const fs = require('node:fs');
const path = require('node:path');

const uncaught = [];
process.on('uncaughtException', (error) => uncaught.push({ event: 'uncaughtException', error: String(error && error.stack ? error.stack : error) }));
process.on('unhandledRejection', (reason) => uncaught.push({ event: 'unhandledRejection', error: String(reason && reason.stack ? reason.stack : reason) }));

const ts = require('typescript');
require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  module._compile(outputText, filename);
};

function argument(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const { runSweep, summarise, formatTable, strategyByName, FAULT_KINDS } = require('./sweep.ts');
  const { unexplained, knownIssuesOf, KNOWN_ISSUES } = require('./known-issues.ts');
  const chips = argument('--chips', 'nrf5340,nrf9160').split(',');
  const strategies = argument('--strategies', 'host').split(',');
  const out = path.resolve(argument('--out', path.join(__dirname, '..', '.tmp', 'fault-sweep.json')));

  if (process.argv.includes('--plant-uncaught')) {
    // Control: one of each, after the handlers are installed, so the report must show two.
    void Promise.reject(new Error('planted unhandled rejection'));
    setTimeout(() => {
      throw new Error('planted uncaught exception');
    }, 0);
  }

  const results = [];
  const started = Date.now();
  for (const strategyName of strategies) {
    for (const chip of chips) {
      const strategy = await strategyByName(strategyName, chip);
      if (!strategy) {
        results.push({ chip, strategy: strategyName, skipped: 'strategy not available' });
        continue;
      }
      results.push(await runSweep(chip, strategy));
    }
  }
  // Let any late rejection or timer surface before counting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const ran = results.filter((r) => !r.skipped);
  const rows = summarise(ran, unexplained);
  for (const r of ran) for (const c of r.cases) if (c.problems.length > 0) c.knownIssues = knownIssuesOf(c);
  const report = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    kinds: FAULT_KINDS,
    totals: {
      cases: ran.reduce((n, r) => n + r.cases.length, 0),
      problems: ran.reduce((n, r) => n + r.cases.filter((c) => unexplained(c).length > 0).length, 0),
      knownIssue: ran.reduce((n, r) => n + r.cases.filter((c) => c.problems.length > 0 && unexplained(c).length === 0).length, 0),
      uncaught: uncaught.length,
      durationMs: Date.now() - started,
    },
    sweeps: results.map((r) => (r.skipped ? r : { chip: r.chip, strategy: r.strategy, cleanOperations: r.cleanOperations, cases: r.cases.length, durationMs: r.durationMs })),
    uncaught,
    knownIssues: KNOWN_ISSUES.map((k) => ({ id: k.id, what: k.what, cases: ran.reduce((n, r) => n + r.cases.filter((c) => (c.knownIssues || []).includes(k.id)).length, 0) })),
    table: rows,
    cases: ran.flatMap((r) => r.cases),
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  process.stdout.write(
    `Fault sweep: ${report.totals.cases} cases, ${report.totals.problems} with new problems, ${report.totals.knownIssue} explained by known issues, ` +
      `${uncaught.length} uncaught exceptions/unhandled rejections, ${report.totals.durationMs} ms\n` +
      `${formatTable(rows)}\n` +
      results.filter((r) => r.skipped).map((r) => `${r.chip} ${r.strategy}: skipped (${r.skipped})\n`).join('') +
      `(details: ${path.relative(process.cwd(), out)})\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`fault sweep runner failed: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
