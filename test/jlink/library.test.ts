/**
 * Loading libjlinkarm: where it is looked for, what is refused and how, what is reported, and the
 * 'auto' choice between nrfjprog and J-Link. Through the REAL addon.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TfmError } from '../../lib/errors';
import { NativeBinding } from '../../lib/probe/native';
import { fakeJlinkLibraryPath, incompleteFakeJlinkLibraryPath, setNativeEnv, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';

let fake: FakeJlinkSetup;

beforeAll(async () => {
  // Set before the fake is first loaded in this process: the library version is read at load.
  fake = await setupFakeJlink({
    version: 78812,
    probes: [
      { serial: 4001, chip: 'nrf5340', product: 'J-Link-OB-nRF5340' },
      { serial: 4002, chip: 'nrf9161' },
    ],
  });
});

afterAll(async () => {
  await fake.dispose();
});

function refusal(make: () => unknown): TfmError {
  try {
    make();
  } catch (error) {
    return error as TfmError;
  }
  throw new Error('expected the library to be refused');
}

it('reports the library it loaded: backend, path, version from JLINKARM_GetDLLVersion, simulated', async () => {
  const binding = new NativeBinding({ backend: 'jlink', library: fakeJlinkLibraryPath() });
  expect(binding.backend).toBe('jlink');
  expect(await binding.libraryInfo()).toEqual({ backend: 'jlink', path: fakeJlinkLibraryPath(), version: 'V7.88l', simulated: true });
});

it('lists the connected probes with product and firmware', async () => {
  const binding = new NativeBinding({ backend: 'jlink', library: fakeJlinkLibraryPath() });
  const probes = await binding.list();
  expect(probes.map((p) => p.serialNumber)).toEqual([4001, 4002]);
  expect(probes[0]).toMatchObject({ product: 'J-Link-OB-nRF5340', firmware: expect.stringContaining('J-Link') });
});

it('refuses a missing library with VENDOR_LIBRARY_NOT_FOUND naming the path', () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'libjlinkarm.so');
  const error = refusal(() => new NativeBinding({ backend: 'jlink', library: missing }));
  expect(error.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
  expect(error.message).toContain(missing);
});

it('takes TFM_PROVISION_JLINK_LIBRARY when no path is given, and names it when it is wrong', async () => {
  await setNativeEnv('TFM_PROVISION_JLINK_LIBRARY', '/nonexistent/libjlinkarm.so');
  try {
    const error = refusal(() => new NativeBinding({ backend: 'jlink' }));
    expect(error.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
    expect(error.message).toContain('TFM_PROVISION_JLINK_LIBRARY');
    expect(error.message).toContain('/nonexistent/libjlinkarm.so');
    await setNativeEnv('TFM_PROVISION_JLINK_LIBRARY', fakeJlinkLibraryPath());
    expect((await new NativeBinding({ backend: 'jlink' }).libraryInfo()).path).toBe(fakeJlinkLibraryPath());
  } finally {
    await setNativeEnv('TFM_PROVISION_JLINK_LIBRARY', undefined);
  }
});

const noSeggerInstall = !fs.existsSync('/opt/SEGGER') && process.platform === 'linux';
(noSeggerInstall ? it : it.skip)('without a path, searches the standard install locations and lists them when nothing is there', () => {
  const error = refusal(() => new NativeBinding({ backend: 'jlink' }));
  expect(error.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
  expect(error.message).toContain('/opt/SEGGER/JLink/libjlinkarm.so*');
  expect(error.message).toContain('/opt/SEGGER/JLink_V*/libjlinkarm.so*');
  expect(error.message).toContain('libjlinkarm.so');
});

it('refuses a library without the CoreSight API with VENDOR_LIBRARY_UNSUPPORTED naming what is missing', () => {
  const error = refusal(() => new NativeBinding({ backend: 'jlink', library: incompleteFakeJlinkLibraryPath() }));
  expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
  expect(error.message).toContain('JLINKARM_CORESIGHT_Configure');
  expect(error.message).toContain('JLINKARM_CORESIGHT_ReadAPDPReg');
});

it('refuses a file that is not a loadable library with VENDOR_LIBRARY_UNSUPPORTED', () => {
  const notALibrary = path.join(fake.dir, 'libjlinkarm.so');
  fs.writeFileSync(notALibrary, 'not an ELF file');
  const error = refusal(() => new NativeBinding({ backend: 'jlink', library: notALibrary }));
  expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
  expect(error.message).toContain(notALibrary);
});

const noNrfjprogInstall = !fs.existsSync('/opt/nrf-command-line-tools') && !fs.existsSync('/opt/nrfjprog') && process.platform === 'linux';
(noNrfjprogInstall ? it : it.skip)("'auto' takes J-Link when nrfjprog is not installed", async () => {
  await setNativeEnv('TFM_PROVISION_NRFJPROG_LIBRARY', undefined);
  await setNativeEnv('TFM_PROVISION_JLINK_LIBRARY', fakeJlinkLibraryPath());
  try {
    const binding = new NativeBinding({ backend: 'auto' });
    expect(binding.backend).toBe('jlink');
    expect((await binding.list()).length).toBe(2);
  } finally {
    await setNativeEnv('TFM_PROVISION_JLINK_LIBRARY', undefined);
  }
});
