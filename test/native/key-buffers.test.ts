/**
 * Key bytes that cross the JS/native boundary are zeroed before the addon frees them: a child
 * process runs under a free() hook (test/fixtures/free-scan) that reports every freed block still
 * holding the key, writes the key into a KMU key slot and (nrfjprog) reads one back. Before the
 * addon used zeroing buffers (native/secure_bytes.h) the copy of the written data, the J-Link
 * backend's word buffer and the read buffer were all freed with the key in them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fakeNrfjprog } from '../support/fake-vendor';
import { fakeJlinkLibraryPath, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';
import { runChild } from './child-process';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE = path.join(ROOT, 'test', 'fixtures', 'free-scan', 'free_scan.c');
const OUT_DIR = path.join(ROOT, 'test', '.tmp', 'free-scan');
// Random-looking, so no other block of the process holds these 16 bytes by chance.
const KEY_HEX = 'c3a97f1e5b2d8046e1f7a9350c6b2d84';

/** The little-endian words of the key, as the fake's initial memory of KEYSLOT.KEY[4]. */
function keyWords(): number[] {
  const bytes = Buffer.from(KEY_HEX, 'hex');
  return [0, 4, 8, 12].map((o) => bytes.readUInt32LE(o));
}

function buildFreeScan(): string {
  const output = path.join(OUT_DIR, 'libfree_scan.so');
  if (fs.existsSync(output) && fs.statSync(output).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return output;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const partial = `${output}.${process.pid}.tmp`;
  execFileSync(process.env.CC || 'cc', ['-std=c11', '-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-o', partial, SOURCE], { stdio: 'pipe' });
  fs.renameSync(partial, output);
  return output;
}

function runUnderFreeScan(backend: 'nrfjprog' | 'jlink', env: NodeJS.ProcessEnv): Record<string, unknown> {
  const report = path.join(OUT_DIR, `report-${process.pid}-${backend}.txt`);
  fs.rmSync(report, { force: true });
  const child = runChild('key-buffers.js', [backend], {
    nodeArgs: ['--expose-gc'],
    env: { ...env, LD_PRELOAD: buildFreeScan(), FREE_SCAN_PATTERN: KEY_HEX, FREE_SCAN_OUT: report, KEY_HEX },
  });
  fs.rmSync(report, { force: true });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  return child.json;
}

// The hook relies on glibc (malloc_usable_size, __libc_free).
const onGlibc = process.platform === 'linux' && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime);

(onGlibc ? describe : describe.skip)('key bytes are zeroed before the addon frees them', () => {
  it('nrfjprog backend: the written key and the key read back leave no freed copy', () => {
    const serial = 7101;
    const fake = fakeNrfjprog({
      probes: [
        {
          serialNumber: serial,
          // KEYSLOT.CONFIG[4].PERM readable and active, so that the value reads back while slot 4 is selected.
          memory: [{ address: 0x00ff8424, value: 0xfffffffa }, ...keyWords().map((value, i) => ({ address: 0x00ff8840 + 4 * i, value }))],
        },
      ],
    });
    const result = runUnderFreeScan('nrfjprog', {
      FAKE_NRFJPROG_CONFIG: fake.configPath,
      FAKE_NRFJPROG_LIBRARY: fake.libraryPath,
      PROBE_SERIAL: String(serial),
    });
    expect(result.readBack).toBe(true); // the key really went through the read path
    expect(result.controlLeaked).toBeGreaterThan(0); // the scan sees a block freed with the key in it
    expect(result.leaked).toBe(0);
  });

  describe('J-Link backend', () => {
    let setup: FakeJlinkSetup;
    beforeAll(async () => {
      setup = await setupFakeJlink({ probes: [{ serial: 7102, chip: 'nrf5340' }], keepState: false });
    });
    afterAll(async () => {
      await setup.dispose();
    });

    it('the written key leaves no freed copy (data buffer and the backend\'s word buffer)', () => {
      const result = runUnderFreeScan('jlink', {
        FAKE_JLINK_CONFIG: setup.configPath,
        FAKE_JLINK_LIBRARY: fakeJlinkLibraryPath(),
        PROBE_SERIAL: '7102',
      });
      expect(result.controlLeaked).toBeGreaterThan(0);
      expect(result.leaked).toBe(0);
    });
  });
});
