/**
 * `tfm-provision list --backend jlink` in a separate process, against the fake libjlinkarm: the
 * probes J-Link reports, each opened (one at a time) and identified from FICR.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, runCliProcess } from '../cli/support/cli';
import { fakeJlinkLibraryPath, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';

let fake: FakeJlinkSetup;
let lockDir: string;

beforeAll(async () => {
  ensureBuilt();
  fake = await setupFakeJlink({
    probes: [
      { serial: 7001, chip: 'nrf5340', deviceId: '0123456789abcdef' },
      { serial: 7002, chip: 'nrf9161' },
      { serial: 7003, chip: 'nrf5340', locked: true },
    ],
  });
  lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-jlink-locks-'));
});

afterAll(async () => {
  await fake.dispose();
  fs.rmSync(lockDir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, FAKE_JLINK_CONFIG: fake.configPath, TFM_PROVISION_LOCK_DIR: lockDir };
  delete base.TFM_PROVISION_JLINK_LIBRARY;
  delete base.TFM_PROVISION_NRFJPROG_LIBRARY;
  return { ...base, ...extra };
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

it('lists J-Link probes with chip and device ID, and a locked device as DEVICE_PROTECTED', async () => {
  const run = await runCliProcess(['list', '--backend', 'jlink', '--library', fakeJlinkLibraryPath(), '--json'], { env: env() });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const lines = jsonLines(run.stdout);
  const probes = lines.filter((l) => l.type === 'probe');
  expect(probes.map((p) => p.serialNumber)).toEqual([7001, 7002, 7003]);
  expect(probes[0]).toMatchObject({ device: { chip: 'nrf5340', deviceId: '0123456789abcdef' }, errorCode: null });
  expect(probes[1]).toMatchObject({ device: { chip: 'nrf9161' } });
  expect(probes[2]).toMatchObject({ device: null, errorCode: 'DEVICE_PROTECTED' });
  expect(lines[lines.length - 1]).toMatchObject({ type: 'result', ok: true, count: 3, backend: 'jlink' });
});

it('finds the library through TFM_PROVISION_JLINK_LIBRARY, and prints a table without --json', async () => {
  const run = await runCliProcess(['list', '--backend', 'jlink'], { env: env({ TFM_PROVISION_JLINK_LIBRARY: fakeJlinkLibraryPath() }) });
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/7001\s+nRF5340\s+0123456789abcdef/);
  expect(run.stdout).toMatch(/7003.*DEVICE_PROTECTED/);
});

const noNrfjprogInstall = !fs.existsSync('/opt/nrf-command-line-tools') && !fs.existsSync('/opt/nrfjprog') && process.platform === 'linux';
(noNrfjprogInstall ? it : it.skip)('--backend auto falls back to J-Link when nrfjprog is not installed', async () => {
  const run = await runCliProcess(['list', '--json'], { env: env({ TFM_PROVISION_JLINK_LIBRARY: fakeJlinkLibraryPath() }) });
  expect(run.code).toBe(0);
  const lines = jsonLines(run.stdout);
  expect(lines[lines.length - 1]).toMatchObject({ type: 'result', ok: true, count: 3, backend: 'jlink' });
});
