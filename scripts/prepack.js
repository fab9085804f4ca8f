'use strict';
// `npm pack` / `npm publish` (the "prepack" script): a clean dist/ (no output of files that no
// longer exist) and the prebuilt addon for this platform, so users on linux-x64 (glibc) install
// without a compiler. npm runs "prepare" (tsc) right after this. Not shipped.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
// Only this platform's directory: a prebuild made elsewhere (copied in by CI) is kept.
fs.rmSync(path.join(root, 'prebuilds', `${process.platform}-${os.arch()}`), { recursive: true, force: true });
// --napi: one binary for every Node version with N-API 8; --tag-libc: named .glibc/.musl so
// node-gyp-build never loads a glibc build on musl (Alpine), which then compiles or goes without.
const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
execFileSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] }); // stdout stays npm pack's
