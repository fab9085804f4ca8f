'use strict';
// Builds what the tests need, only when missing or stale: the native addon (if node-gyp-build did
// not already), the fake vendor libraries, and the TypeScript output used by CLI tests.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });

if (fs.existsSync(path.join(root, 'binding.gyp'))) {
  const built = path.join(root, 'build', 'Release');
  const hasAddon = fs.existsSync(built) && fs.readdirSync(built).some((f) => f.endsWith('.node'));
  if (!hasAddon) run('node-gyp', ['rebuild']);
}
if (fs.existsSync(path.join(root, 'scripts', 'build-fakes.js'))) run(process.execPath, ['scripts/build-fakes.js']);
run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json']);
