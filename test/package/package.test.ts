/**
 * What the published package holds and promises (issue 15), checked without the network: the
 * file list `npm pack` would use, the dependencies, the optional-addon install script and the
 * README's references. The consumer test (test/consumer/run.js, in .ci/run) installs the real
 * tarball; this suite keeps the same rules in `npm test`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { loadNativeAddon } from '../../lib/probe/native';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

function packedFiles(): string[] {
  // --ignore-scripts: list what is there without prepack's build; pretest has built dist/.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path);
}

describe('the package a user installs', () => {
  const files = packedFiles();

  test('ships dist, docs, the addon sources and the install fallback', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'package.json', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'dist/testing.d.ts', 'docs/simulator.md', 'native/addon.cc', 'scripts/addon-unavailable.js']));
  });

  test('ships no tests, no benches, no TypeScript sources and no test-only scripts', () => {
    expect(files.filter((f) => /^(lib|test|bench|shared)\//.test(f) || (f.startsWith('scripts/') && f !== 'scripts/addon-unavailable.js'))).toEqual([]);
  });

  test('builds no source or declaration maps, since lib/ does not ship (prepack cleans dist/)', () => {
    const { config } = ts.readConfigFile(path.join(root, 'tsconfig.build.json'), ts.sys.readFile);
    expect({ sourceMap: config.compilerOptions.sourceMap, declarationMap: config.compilerOptions.declarationMap }).toEqual({ sourceMap: false, declarationMap: false });
  });

  test('every doc the README names ships', () => {
    const named = [...readme.matchAll(/\bdocs\/[\w.-]+\.md\b/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter((f) => !files.includes(f))).toEqual([]);
  });

  test('the README names no source file or shared/ file that does not ship', () => {
    expect([...readme.matchAll(/\b(?:lib\/[\w/.-]+\.ts|shared\/[\w/.-]+)/g)].map((m) => m[0])).toEqual([]);
  });

  test('the README says "use it in your project" before "work on this repo"', () => {
    const use = readme.indexOf('## Use it in your project');
    const work = readme.indexOf('## Work on this repo');
    expect(use).toBeGreaterThan(0);
    expect(work).toBeGreaterThan(use);
    expect(readme.slice(use, work)).toMatch(/npm install tfm-provision[\s\S]*npx tfm-provision provision --sim/);
    expect(readme.slice(work)).toMatch(/npm install && npm start[\s\S]*npm install && npm test/);
  });

  test('every runtime dependency is used by lib/ or by the addon build', () => {
    const sources = listTs(path.join(root, 'lib')).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
    const unused = Object.keys(pkg.dependencies).filter((dep) => {
      const imported = new RegExp(`(?:from |require\\()['"]${dep.replace(/[/.]/g, '\\$&')}(?:/[^'"]*)?['"]`).test(sources);
      return !imported && !gyp.includes(`require('${dep}')`) && !String(pkg.scripts.install).includes(dep);
    });
    expect(unused).toEqual([]);
  });

  test('TypeScript users without "exports" support still resolve tfm-provision/testing', () => {
    expect(pkg.exports['./testing'].types).toBe('./dist/testing.d.ts');
    expect(pkg.typesVersions['*'].testing).toEqual(['dist/testing.d.ts']);
  });
});

describe('the addon is optional', () => {
  test('the install script falls back to a notice when node-gyp-build fails', () => {
    expect(pkg.scripts.install).toBe('node-gyp-build || node scripts/addon-unavailable.js');
    expect(pkg.scripts.prepack).toBe('node scripts/prepack.js');
  });

  test('the notice exits 0 and says what still works and how to get the addon', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'addon-unavailable.js')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/simulator/);
    expect(r.stderr).toMatch(/NATIVE_ADDON_UNAVAILABLE/);
    expect(r.stderr).toMatch(/npm rebuild tfm-provision/);
  });

  test('an addon that cannot load is NATIVE_ADDON_UNAVAILABLE with the fix', () => {
    let error: unknown;
    try {
      loadNativeAddon(path.join(root, 'test', '.tmp', 'no-such-addon.node'));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'NATIVE_ADDON_UNAVAILABLE', message: expect.stringMatching(/npm rebuild tfm-provision[\s\S]*simulator/) });
  });
});

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listTs(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('no repository, homepage or bugs URL is claimed while the repository has no public one (README says so)', () => {
  expect([pkg.repository, pkg.homepage, pkg.bugs]).toEqual([undefined, undefined, undefined]);
  expect(readme).toMatch(/no `repository`, `homepage` or `bugs` field on purpose/);
});
