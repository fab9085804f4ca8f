'use strict';
// Builds what the tests need, only when missing or stale: the native addon (if node-gyp-build did
// not already), the fake vendor libraries, and the TypeScript output used by CLI tests.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });

/** Newest modification time of the addon's sources (native/ and binding.gyp). */
function newestNativeSource() {
  let newest = fs.statSync(path.join(root, 'binding.gyp')).mtimeMs;
  for (const name of fs.readdirSync(path.join(root, 'native'))) {
    newest = Math.max(newest, fs.statSync(path.join(root, 'native', name)).mtimeMs);
  }
  return newest;
}

if (fs.existsSync(path.join(root, 'binding.gyp'))) {
  const built = path.join(root, 'build', 'Release');
  const addon = fs.existsSync(built) ? fs.readdirSync(built).find((f) => f.endsWith('.node')) : undefined;
  // A build older than its sources would test yesterday's addon (a checkout that changed native/).
  const stale = addon !== undefined && fs.statSync(path.join(built, addon)).mtimeMs < newestNativeSource();
  // Through npm, so node-gyp and npm's nodedir setting are found however this script was started.
  if (addon === undefined || stale) run('npm', ['run', '--silent', 'build:native']);
}
if (fs.existsSync(path.join(root, 'scripts', 'build-fakes.js'))) run(process.execPath, ['scripts/build-fakes.js']);
// tsc never deletes: a module removed from lib/ would live on in dist/ and hide a broken import.
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json']);
