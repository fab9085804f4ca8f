'use strict';
// `npm run test:asan`: builds the addon with AddressSanitizer into build-asan/ (the normal build in
// build/ is left alone), then runs the native tests against it with the sanitizer runtime preloaded
// into node (node itself is not instrumented, so libasan must come first: LD_PRELOAD). Linux, gcc
// or clang. See docs/native.md ("AddressSanitizer").
//
// ASAN_OPTIONS: detect_leaks=0 because node and V8 keep process-lifetime allocations that
// LeakSanitizer reports at every exit (the addon's own leaks are covered by the lifecycle tests);
// halt_on_error=1 so that the first report ends the process and fails the test that caused it.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'build-asan');
const output = path.join(outDir, 'tfm_provision.node');

if (process.platform !== 'linux') {
  console.error('test:asan: Linux only (LD_PRELOAD of libasan into node)');
  process.exit(1);
}

function gypTarget() {
  // binding.gyp is a Python literal; this one is JSON once its comments are gone.
  const text = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '');
  return JSON.parse(text).targets.find((t) => t.target_name === 'tfm_provision');
}

function nodeIncludeDir() {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(process.env.HOME || '', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')));
  if (!found) throw new Error(`node headers not found (looked in ${candidates.join(', ')}); run node-gyp install`);
  return found;
}

function build() {
  const target = gypTarget();
  const sources = target.sources.map((s) => path.join(root, s));
  const headers = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.h')).map((f) => path.join(root, 'native', f));
  if (fs.existsSync(output)) {
    const built = fs.statSync(output).mtimeMs;
    if ([...sources, ...headers, __filename, path.join(root, 'binding.gyp')].every((f) => fs.statSync(f).mtimeMs <= built)) return;
  }
  fs.mkdirSync(outDir, { recursive: true });
  const cxx = process.env.CXX || 'c++';
  const args = [
    '-std=c++17', '-g', '-O1', '-fPIC', '-shared', '-fsanitize=address', '-fno-omit-frame-pointer', '-fvisibility=hidden',
    '-Wall', '-Wextra', '-Wno-unused-parameter',
    `-I${nodeIncludeDir()}`, `-I${require('node-addon-api').include_dir}`, `-I${path.join(root, 'native')}`,
    ...target.defines.map((d) => `-D${d}`),
    '-o', `${output}.tmp`, ...sources, '-ldl', '-lpthread',
  ];
  console.log(`test:asan: ${cxx} -fsanitize=address ... -> ${path.relative(root, output)}`);
  execFileSync(cxx, args, { stdio: 'inherit' });
  fs.renameSync(`${output}.tmp`, output);
}

function asanRuntime() {
  const cc = process.env.CC || 'cc';
  const lib = execFileSync(cc, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(lib) || !fs.existsSync(lib)) throw new Error(`${cc} does not know libasan.so (got "${lib}")`);
  return lib;
}

try {
  build();
  require('./build-fakes.js').buildFakes({ quiet: true });
  const env = {
    ...process.env,
    LD_PRELOAD: asanRuntime(),
    ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:abort_on_error=0',
    TFM_PROVISION_NATIVE_ADDON: output,
    TFM_PROVISION_ASAN: '1',
  };
  // key-buffers.test.ts preloads its own free() scanner, which cannot sit in front of ASan's
  // allocator; it checks the normal build only.
  // Extra arguments (test paths, jest options) replace the default selection.
  const extra = process.argv.slice(2);
  const args = ['jest', ...(extra.length ? extra : ['test/native']), '--testPathIgnorePatterns=key-buffers'];
  const result = spawnSync('npx', ['--no-install', ...args], { cwd: root, env, stdio: 'inherit' });
  process.exit(result.status ?? 1);
} catch (error) {
  console.error(`test:asan: ${error.message}`);
  process.exit(1);
}
