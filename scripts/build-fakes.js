'use strict';
// Builds the fake vendor libraries used by the native tests and the bench (test/fixtures/fake-nrfjprog)
// into test/.tmp/fakes with the system C compiler ($CC, else cc). Skips a library that is newer than
// its source. Run directly (`node scripts/build-fakes.js`, also from pretest) or require it.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const sourceDir = path.join(root, 'test', 'fixtures', 'fake-nrfjprog');
const outputDir = path.join(root, 'test', '.tmp', 'fakes');
const extension = process.platform === 'darwin' ? '.dylib' : '.so';

/** variant -> source file. `full` is the working fake; the others exist to be refused. */
const FAKES = {
  full: 'fake_nrfjprog.c',
  'no-inst': 'fake_nrfjprog_noinst.c',
  highlevel: 'fake_highlevel.c',
};

function fakeLibraryPath(variant = 'full') {
  const source = FAKES[variant];
  if (!source) throw new Error(`unknown fake library variant "${variant}"`);
  return path.join(outputDir, `lib${path.basename(source, '.c')}${extension}`);
}

function isUpToDate(output, inputs) {
  if (!fs.existsSync(output)) return false;
  const built = fs.statSync(output).mtimeMs;
  return inputs.every((input) => fs.statSync(input).mtimeMs <= built);
}

/** Builds every variant that is missing or stale; returns { variant: path }. */
function buildFakes({ quiet = false } = {}) {
  if (process.platform === 'win32') throw new Error('the fake vendor libraries are built on Linux and macOS only');
  fs.mkdirSync(outputDir, { recursive: true });
  const compiler = process.env.CC || 'cc';
  const paths = {};
  for (const [variant, source] of Object.entries(FAKES)) {
    const input = path.join(sourceDir, source);
    const output = fakeLibraryPath(variant);
    paths[variant] = output;
    if (isUpToDate(output, [input, __filename])) continue;
    // Built to a temporary name and renamed: a process that already loaded the old file keeps its
    // mapping, and a concurrent reader never sees a half-written library.
    const partial = `${output}.${process.pid}.tmp`;
    const args = ['-std=c11', '-O2', '-g', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-o', partial, input];
    if (process.platform === 'linux') args.push('-lpthread');
    if (!quiet) console.log(`build-fakes: ${compiler} ${path.relative(root, input)} -> ${path.relative(root, output)}`);
    execFileSync(compiler, args, { stdio: quiet ? 'pipe' : 'inherit' });
    fs.renameSync(partial, output);
  }
  return paths;
}

module.exports = { buildFakes, fakeLibraryPath, FAKES, outputDir };

if (require.main === module) {
  try {
    buildFakes();
  } catch (error) {
    console.error(`build-fakes: ${error.message}`);
    process.exit(1);
  }
}
