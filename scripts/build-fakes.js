'use strict';
// Builds the fake vendor libraries used by the native tests and the bench (test/fixtures/fake-nrfjprog)
// into test/.tmp/fakes with the system C compiler ($CC, else cc). Skips a library that is newer than
// its source. Run directly (`node scripts/build-fakes.js`, also from pretest) or require it; it also
// writes the fake's configuration file (format: top of fake_nrfjprog.c), for the Jest helper
// (test/support/fake-vendor.ts) and the bench alike.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const sourceDir = path.join(root, 'test', 'fixtures', 'fake-nrfjprog');
// The nRF memory model both C fakes are built on (test/fixtures/nrf-model/nrf_model.h).
const MODEL_DIR = path.join(root, 'test', 'fixtures', 'nrf-model');
const MODEL_SOURCES = [path.join(MODEL_DIR, 'nrf_model.c')];
const MODEL_INPUTS = [...MODEL_SOURCES, path.join(MODEL_DIR, 'nrf_model.h')];
const outputDir = path.join(root, 'test', '.tmp', 'fakes');
const extension = process.platform === 'darwin' ? '.dylib' : '.so';

/** variant -> source file. `full` is the working fake; the others exist to be refused. */
const FAKES = {
  full: 'fake_nrfjprog.c',
  'no-inst': 'fake_nrfjprog_noinst.c',
  highlevel: 'fake_highlevel.c',
  'v10.18': 'fake_nrfjprog.c',
};
/** Variants built on the shared model. */
const USES_MODEL = new Set(['full', 'v10.18']);
/**
 * `full` is like nrfjprog 10.19 .. 10.24 (NRFJPROG_version, AUTO_FAMILY); `v10.18` like 10.13 ..
 * 10.18 (the `_inst` API and select_family, neither of those two): release notes 10.13.0 / 10.19.0.
 */
const VARIANT_DEFINES = { 'v10.18': ['-DFAKE_NRFJPROG_10_18'] };
const VARIANT_NAMES = { 'v10.18': 'libfake_nrfjprog_10_18' };

function fakeLibraryPath(variant = 'full') {
  const source = FAKES[variant];
  if (!source) throw new Error(`unknown fake library variant "${variant}"`);
  return path.join(outputDir, `${VARIANT_NAMES[variant] ?? `lib${path.basename(source, '.c')}`}${extension}`);
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
    const model = USES_MODEL.has(variant);
    if (isUpToDate(output, [input, __filename, ...(model ? MODEL_INPUTS : [])])) continue;
    // Built to a temporary name and renamed: a process that already loaded the old file keeps its
    // mapping, and a concurrent reader never sees a half-written library.
    const partial = `${output}.${process.pid}.tmp`;
    const args = ['-std=c11', '-O2', '-g', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-o', partial, input];
    if (model) args.push(`-I${MODEL_DIR}`, ...MODEL_SOURCES);
    args.push(...(VARIANT_DEFINES[variant] ?? []));
    if (process.platform === 'linux') args.push('-lpthread');
    if (!quiet) console.log(`build-fakes: ${compiler} ${path.relative(root, input)} -> ${path.relative(root, output)}`);
    execFileSync(compiler, args, { stdio: quiet ? 'pipe' : 'inherit' });
    fs.renameSync(partial, output);
  }
  return paths;
}

// The fake SEGGER J-Link library (test/fixtures/fake-jlink), one folder per variant so each is a
// `libjlinkarm` file like the real one. `jlink` is the working fake; `jlink-incomplete` lacks the
// CoreSight API and exists to be refused.
const JLINK_SOURCE = path.join(root, 'test', 'fixtures', 'fake-jlink', 'fake_jlink.c');
const JLINK_FAKES = {
  jlink: [],
  'jlink-incomplete': ['-DFAKE_JLINK_WITHOUT_CORESIGHT'],
};

function fakeJlinkLibraryPath(variant = 'jlink') {
  if (!JLINK_FAKES[variant]) throw new Error(`unknown fake J-Link library variant "${variant}"`);
  return path.join(outputDir, variant, `libjlinkarm${extension}`);
}

function buildJlinkFakes({ quiet = false } = {}) {
  const compiler = process.env.CC || 'cc';
  const paths = {};
  for (const [variant, defines] of Object.entries(JLINK_FAKES)) {
    const output = fakeJlinkLibraryPath(variant);
    paths[variant] = output;
    if (isUpToDate(output, [JLINK_SOURCE, __filename, ...MODEL_INPUTS])) continue;
    fs.mkdirSync(path.dirname(output), { recursive: true });
    const partial = `${output}.${process.pid}.tmp`;
    const args = ['-std=c11', '-O2', '-g', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', ...defines, '-o', partial, JLINK_SOURCE, `-I${MODEL_DIR}`, ...MODEL_SOURCES];
    if (!quiet) console.log(`build-fakes: ${compiler} ${path.relative(root, JLINK_SOURCE)} -> ${path.relative(root, output)}`);
    execFileSync(compiler, args, { stdio: quiet ? 'pipe' : 'inherit' });
    fs.renameSync(partial, output);
  }
  return paths;
}

// The test driver of the J-Link backend's debug-port sequences (test/jlink/native/sequences_test.cc):
// native/jlink_sequences.cc and jlink_layout.cc built on their own, without node or a vendor library.
const SEQUENCES_TEST_SOURCES = [
  path.join(root, 'test', 'jlink', 'native', 'sequences_test.cc'),
  path.join(root, 'native', 'jlink_sequences.cc'),
  path.join(root, 'native', 'jlink_layout.cc'),
  path.join(root, 'native', 'platform.cc'),
];
const SEQUENCES_TEST_HEADERS = ['jlink_sequences.h', 'jlink_layout.h', 'backend.h', 'secure_bytes.h', 'platform.h'].map((h) =>
  path.join(root, 'native', h),
);

function sequencesTestPath() {
  return path.join(outputDir, 'jlink-sequences-test');
}

function buildSequencesTest({ quiet = false } = {}) {
  const output = sequencesTestPath();
  if (isUpToDate(output, [...SEQUENCES_TEST_SOURCES, ...SEQUENCES_TEST_HEADERS, __filename])) return output;
  fs.mkdirSync(outputDir, { recursive: true });
  const compiler = process.env.CXX || 'c++';
  const partial = `${output}.${process.pid}.tmp`;
  const args = ['-std=c++17', '-O1', '-g', '-Wall', '-Wextra', '-Wno-unused-parameter', '-I', path.join(root, 'native'), '-o', partial, ...SEQUENCES_TEST_SOURCES];
  if (process.platform === 'linux') args.push('-ldl', '-lpthread');
  if (!quiet) console.log(`build-fakes: ${compiler} test/jlink/native/sequences_test.cc -> ${path.relative(root, output)}`);
  execFileSync(compiler, args, { stdio: quiet ? 'pipe' : 'inherit' });
  fs.renameSync(partial, output);
  return output;
}

// The model's chip table as a program that prints it (test/native/chip-layout.test.ts).
function modelLayoutPath() {
  return path.join(outputDir, 'nrf_model_layout');
}

function buildModelLayout({ quiet = false } = {}) {
  const output = modelLayoutPath();
  const main = path.join(MODEL_DIR, 'layout_main.c');
  if (isUpToDate(output, [main, __filename, ...MODEL_INPUTS])) return output;
  fs.mkdirSync(outputDir, { recursive: true });
  const compiler = process.env.CC || 'cc';
  const partial = `${output}.${process.pid}.tmp`;
  if (!quiet) console.log(`build-fakes: ${compiler} ${path.relative(root, main)} -> ${path.relative(root, output)}`);
  execFileSync(compiler, ['-std=c11', '-O1', '-Wall', '-Wextra', `-I${MODEL_DIR}`, '-o', partial, main, ...MODEL_SOURCES], { stdio: quiet ? 'pipe' : 'inherit' });
  fs.renameSync(partial, output);
  return output;
}

// A program that calls a fake nrfjprog library directly (test/native/vendor-rules.test.ts).
function rulesProgramPath() {
  return path.join(outputDir, 'fake_nrfjprog_rules');
}

function buildRulesProgram({ quiet = false } = {}) {
  const output = rulesProgramPath();
  const main = path.join(sourceDir, 'rules_main.c');
  if (isUpToDate(output, [main, __filename])) return output;
  fs.mkdirSync(outputDir, { recursive: true });
  const compiler = process.env.CC || 'cc';
  const partial = `${output}.${process.pid}.tmp`;
  if (!quiet) console.log(`build-fakes: ${compiler} ${path.relative(root, main)} -> ${path.relative(root, output)}`);
  const args = ['-std=c11', '-O1', '-Wall', '-Wextra', '-o', partial, main];
  if (process.platform === 'linux') args.push('-ldl');
  execFileSync(compiler, args, { stdio: quiet ? 'pipe' : 'inherit' });
  fs.renameSync(partial, output);
  return output;
}

// ---- configuration of the fake nrfjprog library ----

let counter = 0;

function integer(value, name) {
  if (!Number.isInteger(value)) throw new Error(`fake nrfjprog config: ${name} must be an integer, got ${value}`);
  return value;
}

/** Configuration text for `options` (see FakeNrfjprogOptions in test/support/fake-vendor.ts). */
function formatFakeConfig(options = {}) {
  const lines = [`generation ${process.pid}-${Date.now()}-${++counter}-${crypto.randomBytes(4).toString('hex')}`];
  if (options.version) lines.push(`version ${options.version.map((v, i) => integer(v, `version[${i}]`)).join(' ')}`);
  if (options.latencyUs !== undefined) lines.push(`latency_us ${integer(options.latencyUs, 'latencyUs')}`);
  if (options.logMessages !== undefined) lines.push(`log_messages ${integer(options.logMessages, 'logMessages')}`);
  if (options.logIntervalUs !== undefined) lines.push(`log_interval_us ${integer(options.logIntervalUs, 'logIntervalUs')}`);
  if (options.recoverWritesApprotect !== undefined) lines.push(`recover_writes_approtect ${options.recoverWritesApprotect ? 1 : 0}`);
  if (options.busyPolls !== undefined) lines.push(`busy_polls ${integer(options.busyPolls, 'busyPolls')}`);
  if (options.chipOffView) lines.push('chip_off_view 1');
  for (const hang of options.hangs ?? []) {
    lines.push(`hang function=${hang.function} ms=${integer(hang.ms, 'hang ms')}${hang.serialNumber !== undefined ? ` serial=${integer(hang.serialNumber, 'hang serialNumber')}` : ''}`);
  }
  if (options.tracePath) lines.push(`trace ${options.tracePath}`);
  if (options.barrier) {
    const b = options.barrier;
    lines.push(`barrier count=${integer(b.count, 'barrier count')} function=${b.function} timeout_ms=${integer(b.timeoutMs ?? 10000, 'barrier timeoutMs')}`);
  }
  for (const probe of options.probes ?? []) {
    const serial = integer(probe.serialNumber, 'serialNumber');
    const deviceId = probe.deviceId ?? serial.toString(16).padStart(16, '0');
    if (!/^[0-9a-fA-F]{16}$/.test(deviceId)) throw new Error(`fake nrfjprog config: deviceId must be 16 hex digits, got "${deviceId}"`);
    lines.push(`probe serial=${serial} chip=${probe.chip ?? 'nrf5340'} device_id=${deviceId}`);
    for (const word of probe.memory ?? []) {
      lines.push(`mem serial=${serial} core=${word.core ?? 'application'} address=0x${(word.address >>> 0).toString(16)} value=0x${(word.value >>> 0).toString(16)}`);
    }
  }
  for (const failure of options.failures ?? []) {
    let line = `fail code=${integer(failure.code, 'failure code')}`;
    if (failure.call !== undefined) line += ` call=${integer(failure.call, 'failure call')}`;
    if (failure.count !== undefined) line += ` count=${integer(failure.count, 'failure count')}`;
    if (failure.function !== undefined) line += ` function=${failure.function}`;
    if (failure.serialNumber !== undefined) line += ` serial=${integer(failure.serialNumber, 'failure serialNumber')}`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Where the fake library of THIS process looks for its configuration when FAKE_NRFJPROG_CONFIG is
 * not set in the real environment: beside the library (under Jest, assignments to process.env never
 * reach native code, so the file name carries the pid instead).
 */
function processConfigPath() {
  return path.join(outputDir, `config-${process.pid}.conf`);
}

function processIsAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Removes configurations and traces of processes that ended more than ten minutes ago. */
function pruneFakeFiles() {
  const cutoff = Date.now() - 10 * 60 * 1000;
  for (const dir of [outputDir, path.join(outputDir, 'traces')]) {
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir)) {
      const match = /^(?:config-)?(\d+)[.-]/.exec(file);
      if (!match || Number(match[1]) === process.pid) continue;
      const full = path.join(dir, file);
      try {
        if (fs.statSync(full).mtimeMs < cutoff && !processIsAlive(Number(match[1]))) fs.rmSync(full, { force: true });
      } catch {
        // raced with another process pruning the same file
      }
    }
  }
}

/**
 * Writes the configuration for `options` where this process's fake library reads it, and sets
 * process.env.FAKE_NRFJPROG_CONFIG so that child processes inherit it. `options.trace: true`
 * records vendor calls in a fresh trace file (test/.tmp/fakes/traces). Returns { configPath, tracePath }.
 */
function writeFakeConfig(options = {}) {
  fs.mkdirSync(path.join(outputDir, 'traces'), { recursive: true });
  pruneFakeFiles();
  const tracePath = options.trace ? path.join(outputDir, 'traces', `${process.pid}-${Date.now()}-${++counter}.log`) : undefined;
  const configPath = processConfigPath();
  const partial = `${configPath}.tmp`;
  fs.writeFileSync(partial, formatFakeConfig({ ...options, tracePath }));
  fs.renameSync(partial, configPath); // never half-read by a probe opening meanwhile
  process.env.FAKE_NRFJPROG_CONFIG = configPath;
  return { configPath, tracePath };
}

module.exports = {
  buildFakes,
  fakeLibraryPath,
  FAKES,
  outputDir,
  buildJlinkFakes,
  fakeJlinkLibraryPath,
  MODEL_DIR,
  MODEL_SOURCES,
  MODEL_INPUTS,
  buildModelLayout,
  modelLayoutPath,
  buildRulesProgram,
  rulesProgramPath,
  JLINK_FAKES,
  buildSequencesTest,
  sequencesTestPath,
  formatFakeConfig,
  writeFakeConfig,
  processConfigPath,
};

if (require.main === module) {
  try {
    buildFakes();
    buildJlinkFakes();
    buildSequencesTest();
    buildModelLayout();
    buildRulesProgram();
  } catch (error) {
    console.error(`build-fakes: ${error.message}`);
    process.exit(1);
  }
}
