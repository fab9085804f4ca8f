#!/usr/bin/env node
'use strict';
/**
 * The consumer test (issue 15): what someone who runs `npm i tfm-provision` gets.
 *
 *  1. `npm pack` this repo (prepack builds the linux-x64 prebuild and a clean dist/) and check the
 *     tarball: docs and the prebuild in, no test-only scripts, no source maps.
 *  2. Install the tarball into one temporary project with Jest, ts-jest and TypeScript (from the
 *     local npm cache when it has them), with the README's `allowScripts` line.
 *  3. Run the README's examples exactly as the README shows them (extracted from README.md by their
 *     `<!-- consumer-test: FILE -->` markers): a TypeScript Jest test under the default preset that
 *     `npx ts-jest config:init` writes, a JavaScript Jest test with no Jest config at all (default
 *     babel-jest), and an ESM script run by `node`; and `npx tfm-provision provision --sim`.
 *  4. Install again with no compiler on PATH (no cc, c++, g++, make, python3): with the prebuild the
 *     install succeeds and probes are reachable; with no matching prebuild the install still
 *     succeeds, the simulator works and `tfm-provision list` reports NATIVE_ADDON_UNAVAILABLE.
 *
 * Needs the npm registry (or a warm cache), so it runs in .ci/run, not in `npm test`. Output of
 * every command goes to test/.tmp/consumer/consumer.log; a summary is printed.
 *   node test/consumer/run.js [--keep]
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const work = path.join(root, 'test', '.tmp', 'consumer');
const logFile = path.join(work, 'consumer.log');
const npmCli = findNpmCli();
const results = [];

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
fs.writeFileSync(logFile, '');

function log(text) {
  fs.appendFileSync(logFile, text.endsWith('\n') ? text : `${text}\n`);
}

function findNpmCli() {
  // npm's own entry point, so npm runs with this Node even when PATH is stripped below.
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    '/usr/lib/node_modules/npm/bin/npm-cli.js',
  ].filter((p) => p && /npm-cli\.js$/.test(p));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error('cannot find npm-cli.js next to this Node');
  return found;
}

/** Runs a command, logs it and its output; returns { status, stdout, stderr, output }. */
function run(cmd, args, { cwd, env, timeoutMs = 600_000 } = {}) {
  log(`\n$ (cd ${path.relative(work, cwd) || '.'}) ${cmd === process.execPath ? 'node' : cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, env: env ?? process.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  log(stdout);
  log(stderr);
  log(`(exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  return { status: r.status, stdout, stderr, output: stdout + stderr };
}

const npm = (args, opts) => run(process.execPath, [npmCli, ...args], opts);

function check(name, ok, detail = '') {
  results.push({ name, ok: Boolean(ok) });
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
  process.stdout.write(`${ok ? '  ok  ' : '  FAIL'} ${name}${!ok && detail ? `: ${detail}` : ''}\n`);
  return Boolean(ok);
}

/** The fenced block right after `<!-- consumer-test: FILE -->` in README.md, per FILE. */
function readmeExamples() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = {};
  const marker = /<!-- consumer-test: (\S+) -->\s*\n```[a-z]*\n([\s\S]*?)```/g;
  for (let m = marker.exec(readme); m; m = marker.exec(readme)) blocks[m[1]] = m[2];
  return blocks;
}

/** The files in the tarball, without the `package/` prefix. */
function packedFiles(tarball) {
  const r = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
}

/** A directory of links to every command on PATH except compilers, make and Python. */
function pathWithoutToolchain() {
  const dir = path.join(work, 'bin-no-toolchain');
  fs.mkdirSync(dir, { recursive: true });
  const banned = /^(cc|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|make|gmake|python|python3|x86_64-linux-gnu-.*)([-.\d]*)$/;
  for (const from of (process.env.PATH ?? '').split(path.delimiter)) {
    let entries = [];
    try {
      entries = fs.readdirSync(from);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (banned.test(name) || fs.existsSync(path.join(dir, name))) continue;
      try {
        fs.symlinkSync(path.join(from, name), path.join(dir, name));
      } catch {
        /* a name twice on PATH: the first wins, as in the shell */
      }
    }
  }
  return dir;
}

function main() {
  const started = Date.now();
  const examples = readmeExamples();
  const want = ['provision.test.ts', 'provision.test.js', 'provision.mjs'];
  check('README has the TypeScript and JavaScript Jest tests and the ESM script', want.every((f) => examples[f]), `found ${Object.keys(examples).join(', ') || 'none'}`);

  // 1. Pack.
  const pack = npm(['pack', '--pack-destination', work], { cwd: root });
  const tarball = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!check('npm pack succeeds', pack.status === 0 && tarball, `exit ${pack.status}`)) return finish(started);
  const tgz = path.join(work, tarball);
  const files = packedFiles(tgz);
  check('the tarball ships the linux-x64 glibc prebuild', files.some((f) => /^prebuilds\/linux-x64\/[^/]*\.glibc\.node$/.test(f)));
  check('the tarball ships docs/', files.includes('docs/simulator.md') && files.includes('README.md'));
  check('the tarball ships no source maps', !files.some((f) => f.endsWith('.map')), files.filter((f) => f.endsWith('.map')).slice(0, 3).join(', '));
  check('the tarball ships no tests or test-only scripts', !files.some((f) => /^(test|bench)\/|^scripts\/(pretest|build-fakes|prepack)\.js$/.test(f)));
  check('the tarball ships the install fallback script', files.includes('scripts/addon-unavailable.js'));

  // 2. One consumer project.
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  const devDeps = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies;
  const allow = allowScriptsFromReadme();
  check('the README gives the allowScripts line for tfm-provision', allow['tfm-provision'] === true);
  writeConsumerPackage(project, 'consumer', allow, tarball);
  const install = npm(
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `jest@${devDeps.jest}`, `ts-jest@${devDeps['ts-jest']}`, `typescript@${devDeps.typescript}`, `@types/jest@${devDeps['@types/jest']}`],
    { cwd: project },
  );
  if (!check('npm install of the tarball succeeds', install.status === 0, `exit ${install.status}`)) return finish(started);
  const unreviewed = unreviewedScripts(install.output);
  check('with the README\'s allowScripts line npm lists none of this package\'s install scripts as unreviewed', !unreviewed.some((p) => /^(tfm-provision|@serialport\/)/.test(p)), unreviewed.join(', '));
  const jest = path.join(project, 'node_modules', 'jest', 'bin', 'jest.js');

  // 3a. TypeScript, default ts-jest preset.
  const ts = path.join(project, 'ts');
  fs.mkdirSync(ts);
  fs.writeFileSync(path.join(ts, 'package.json'), '{ "name": "consumer-ts", "private": true }\n');
  const init = run(process.execPath, [path.join(project, 'node_modules', 'ts-jest', 'cli.js'), 'config:init'], { cwd: ts });
  check('npx ts-jest config:init writes the default config', init.status === 0 && fs.existsSync(path.join(ts, 'jest.config.js')));
  fs.writeFileSync(path.join(ts, 'provision.test.ts'), examples['provision.test.ts'] ?? '');
  const tsRun = run(process.execPath, [jest, '--ci'], { cwd: ts });
  check('the README\'s TypeScript Jest test passes under the default ts-jest preset', tsRun.status === 0 && /Tests:\s+\d+ passed/.test(tsRun.output), lastLines(tsRun.output));

  // 3b. JavaScript, no Jest config at all (default babel-jest).
  const js = path.join(project, 'js');
  fs.mkdirSync(js);
  fs.writeFileSync(path.join(js, 'package.json'), '{ "name": "consumer-js", "private": true }\n');
  fs.writeFileSync(path.join(js, 'provision.test.js'), examples['provision.test.js'] ?? '');
  const jsRun = run(process.execPath, [jest, '--ci'], { cwd: js });
  check('the README\'s JavaScript Jest test passes with no Jest config', jsRun.status === 0 && /Tests:\s+\d+ passed/.test(jsRun.output), lastLines(jsRun.output));

  // 3c. ESM script and the CLI.
  fs.writeFileSync(path.join(project, 'provision.mjs'), examples['provision.mjs'] ?? '');
  const esm = run(process.execPath, ['provision.mjs'], { cwd: project });
  check('the README\'s ESM script runs with node', esm.status === 0 && /provisioned/.test(esm.stdout), lastLines(esm.output));
  const cli = run(path.join(project, 'node_modules', '.bin', 'tfm-provision'), ['provision', '--sim', '--no-records'], { cwd: project });
  check('npx tfm-provision provision --sim provisions a simulated device', cli.status === 0 && /Success!/.test(cli.stdout), lastLines(cli.output));
  check('the installed package loads its prebuilt addon', requireAddon(project).ok, requireAddon(project).detail);

  // 4. No toolchain on PATH.
  const bare = pathWithoutToolchain();
  const env = { ...process.env, PATH: bare };
  for (const name of Object.keys(env)) if (/^(npm_config_python|PYTHON|CC|CXX|npm_config_nodedir)$/i.test(name)) delete env[name];
  const which = ['cc', 'c++', 'g++', 'make', 'python3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env }).status === 0);
  check('the stripped PATH has no cc, c++, g++, make or python3', which.length === 0, which.join(', '));

  const bareProject = path.join(work, 'no-toolchain');
  fs.mkdirSync(bareProject);
  writeConsumerPackage(bareProject, 'no-toolchain', allow, tarball);
  const bareInstall = npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: bareProject, env });
  check('without a compiler, install succeeds with the prebuild', bareInstall.status === 0, lastLines(bareInstall.output));
  const bin = path.join(bareProject, 'node_modules', '.bin', 'tfm-provision');
  const list = run(bin, ['list', '--json'], { cwd: bareProject, env });
  check('with the prebuild, `list` reaches the vendor-library search (not NATIVE_ADDON_UNAVAILABLE)', !/NATIVE_ADDON_UNAVAILABLE/.test(list.output) && /VENDOR_LIBRARY_NOT_FOUND|"type":"probe"|serialNumber/.test(list.output), lastLines(list.output));

  // No matching prebuild (as on linux-arm64 or musl): the package without prebuilds/, reinstalled.
  fs.rmSync(path.join(bareProject, 'node_modules', 'tfm-provision', 'prebuilds'), { recursive: true, force: true });
  fs.rmSync(path.join(bareProject, 'node_modules', 'tfm-provision', 'build'), { recursive: true, force: true });
  const rebuild = npm(['rebuild', '--foreground-scripts', 'tfm-provision'], { cwd: bareProject, env });
  check('without a compiler or a prebuild, the install script still succeeds', rebuild.status === 0, lastLines(rebuild.output));
  check('...and it says why and how to fix it', /find Python|python/i.test(rebuild.output) && /npm rebuild tfm-provision/.test(rebuild.output), lastLines(rebuild.output));
  const simRun = run(bin, ['provision', '--sim', '--no-records'], { cwd: bareProject, env });
  check('...the simulator works without the addon', simRun.status === 0 && /Success!/.test(simRun.stdout), lastLines(simRun.output));
  fs.writeFileSync(path.join(bareProject, 'provision.mjs'), examples['provision.mjs'] ?? '');
  const bareEsm = run(process.execPath, ['provision.mjs'], { cwd: bareProject, env });
  check('...tfm-provision/testing works without the addon', bareEsm.status === 0 && /provisioned/.test(bareEsm.stdout), lastLines(bareEsm.output));
  const noAddon = run(bin, ['list'], { cwd: bareProject, env });
  check('...and a probe command reports NATIVE_ADDON_UNAVAILABLE with the fix', noAddon.status === 5 && /NATIVE_ADDON_UNAVAILABLE/.test(noAddon.output) && /npm rebuild tfm-provision/.test(noAddon.output), `exit ${noAddon.status}: ${lastLines(noAddon.output)}`);

  return finish(started);
}

/**
 * A consumer package.json depending on the tarball. npm matches a registry-style allowScripts key
 * (`"tfm-provision": true`, what users of the registry package write) only against registry
 * installs, and a local tarball by its absolute `file:` path (npm's @npmcli/arborist
 * script-allowed.js), so the README's entry is used here under the tarball's path.
 */
function writeConsumerPackage(dir, name, allow, tarball) {
  const spec = `file:../${tarball}`;
  const allowScripts = { ...allow };
  if (allowScripts['tfm-provision'] !== undefined) {
    // npm keys a local tarball by its absolute file: path (what `npm install-scripts approve` writes).
    allowScripts[`file:${path.join(path.dirname(dir), tarball)}`] = allowScripts['tfm-provision'];
    delete allowScripts['tfm-provision'];
  }
  const pkg = { name, version: '1.0.0', private: true, dependencies: { 'tfm-provision': spec }, allowScripts };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
}

/** Package names in npm's "install scripts not yet covered by allowScripts" warning. */
function unreviewedScripts(output) {
  const at = output.search(/not yet covered by allowScripts/i);
  if (at < 0) return [];
  return [...output.slice(at).matchAll(/^npm warn install-scripts\s+(\S+)@\S+ \(/gm)].map((m) => m[1]);
}

/** The allowScripts object from the README's `"allowScripts": {...}` line. */
function allowScriptsFromReadme() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /"allowScripts":\s*(\{[^}]*\})/.exec(readme);
  return m ? JSON.parse(m[1]) : {};
}

function requireAddon(project) {
  const r = spawnSync(process.execPath, ['-e', "const b = require('node-gyp-build').path(require('path').dirname(require.resolve('tfm-provision/package.json'))); console.log(b)"], { cwd: project, encoding: 'utf8' });
  return { ok: r.status === 0 && /prebuilds\/linux-x64\/.*glibc\.node/.test(r.stdout), detail: (r.stdout + r.stderr).trim().split('\n').pop() };
}

function lastLines(text, n = 3) {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 400);
}

function finish(started) {
  const failed = results.filter((r) => !r.ok).length;
  const passed = results.length - failed;
  process.stdout.write(`consumer test: ${((Date.now() - started) / 1000).toFixed(0)} s, log in ${path.relative(root, logFile)}\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  if (!process.argv.includes('--keep') && failed === 0) {
    for (const f of fs.readdirSync(work)) if (f !== 'consumer.log') fs.rmSync(path.join(work, f), { recursive: true, force: true });
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
