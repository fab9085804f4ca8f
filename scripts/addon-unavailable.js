'use strict';
// Runs when `node-gyp-build` could neither load a prebuild nor compile the addon during install
// (package.json "install": "node-gyp-build || node scripts/addon-unavailable.js"). The addon is
// only needed for real probes, so the install goes on: the simulator, `--sim` and
// `tfm-provision/testing` do not use it, and probe commands report NATIVE_ADDON_UNAVAILABLE with
// the same fix as below. Exits 0 on purpose.
const os = require('node:os');

const libc = process.platform === 'linux' ? (process.report?.getReport?.().header?.glibcVersionRuntime ? 'glibc' : 'musl') : '';
const target = [process.platform, os.arch(), libc].filter(Boolean).join('-');
process.stderr.write(
  [
    `tfm-provision: the native addon is not available on this machine (${target}, Node ${process.version}):`,
    '  no prebuilt addon matches (prebuilds ship for linux-x64 glibc) and it could not be compiled here.',
    '  The simulator, --sim and tfm-provision/testing work without it; commands that open a real probe',
    '  report NATIVE_ADDON_UNAVAILABLE.',
    '  To use real probes: install python3, make and a C++17 compiler, then run `npm rebuild tfm-provision`.',
    '',
  ].join('\n'),
);
process.exitCode = 0;
