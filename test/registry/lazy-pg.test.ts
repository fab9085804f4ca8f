/**
 * node-postgres is loaded only when a registry URL is used: the package (and a station without a
 * registry) loads and runs where `pg` cannot be found, and a registry URL there is a clear
 * REGISTRY_UNAVAILABLE naming the fix, not a crash at require time.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureBuilt } from '../cli/support/cli';

const DIST = path.resolve(__dirname, '../../dist/index.js');

beforeAll(() => ensureBuilt());

/** Runs a script in a fresh node where any require of 'pg' fails as if it were not installed. */
function withoutPg(body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const Module = require('node:module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'pg' || request.startsWith('pg/')) { const e = new Error("Cannot find module 'pg'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return load.call(this, request, ...rest);
    };
    (async () => { ${body} })().catch((e) => { console.error(e && e.stack || e); process.exit(9); });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, DIST } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('the package loads and provisions a simulated device without pg; pg is not loaded', () => {
  const run = withoutPg(`
    const pkg = require(process.env.DIST);
    const { createSimProbe } = require(process.env.DIST.replace(/index\\.js$/, 'testing.js'));
    const { session } = await createSimProbe({ chip: 'nrf5340' });
    const result = await pkg.provision(session);
    const loaded = Object.keys(require.cache).some((f) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(f));
    console.log(JSON.stringify({ outcome: result.outcome, loaded, hasRegistry: typeof pkg.PgRegistry }));`);
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ outcome: 'provisioned', loaded: false, hasRegistry: 'function' });
});

test('a registry URL without pg installed is REGISTRY_UNAVAILABLE with the fix', () => {
  const run = withoutPg(`
    const { PgRegistry } = require(process.env.DIST);
    try { new PgRegistry('postgresql://line:secret-x@127.0.0.1:5432/db'); console.log('{}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`);
  const out = JSON.parse(run.stdout) as { code: string; message: string };
  expect(out.code).toBe('REGISTRY_UNAVAILABLE');
  expect(out.message).toContain('npm install pg');
  expect(out.message).not.toContain('secret-x');
});
