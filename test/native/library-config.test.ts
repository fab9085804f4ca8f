/**
 * How the nrfjprog backend takes its configuration and its library file: environment read once on
 * the JS thread, SWD speed within nrfjprog's limits, a relative library name taken as a file (never a
 * loader search), a truncated library refused before it is loaded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProbeSession } from '../../lib/probe/types';
import { fakeNrfjprog } from '../support/fake-vendor';
import { exportToNativeEnvironment } from '../provision/helpers';
import { rejection } from '../support/rejection';
import { runChild } from './child-process';

let session: ProbeSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
  await exportToNativeEnvironment('TFM_PROVISION_JLINK_LIBRARY', '');
});

it('reads TFM_PROVISION_JLINK_LIBRARY when the library loads, on the JS thread, not later on a probe thread', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 91 }], trace: true });
  await exportToNativeEnvironment('TFM_PROVISION_JLINK_LIBRARY', '/at-load/libjlinkarm.so');
  const binding = fake.binding();
  await exportToNativeEnvironment('TFM_PROVISION_JLINK_LIBRARY', '/changed-later/libjlinkarm.so');
  session = await binding.open(91);
  const opened = fake.readTrace().filter((e) => e.function === 'NRFJPROG_open_dll_inst');
  expect(opened.at(-1)!.args[1]).toBe('/at-load/libjlinkarm.so');
});

it('refuses an SWD speed nrfjprog does not take (4 to 50000 kHz) before calling the library', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 92 }], trace: true });
  const error = await rejection(fake.binding().open(92, { speedKhz: 60000 }), 'INVALID_PARAMETER');
  expect(error.code).toBe('INVALID_PARAMETER');
  expect(error.message).toContain('4 to 50000 kHz');
  expect(fake.readTrace().map((e) => e.function)).not.toContain('NRFJPROG_connect_to_emu_with_snr_inst');
  session = await fake.binding().open(92, { speedKhz: 50000 });
});

it('takes a relative library name as a file in the current directory, not as a loader search', () => {
  const here = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-cwd-'));
  const loaderDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-ldpath-'));
  // The file the user means (10.18-like) and another of the same name on LD_LIBRARY_PATH (10.24-like).
  fs.copyFileSync(fakeNrfjprog({ variant: 'v10.18' }).libraryPath, path.join(here, 'libnrfjprogdll.so'));
  fs.copyFileSync(fakeNrfjprog().libraryPath, path.join(loaderDir, 'libnrfjprogdll.so'));
  const child = runChild('load-library.js', [], {
    cwd: here,
    env: { TFM_PROVISION_NRFJPROG_LIBRARY: 'libnrfjprogdll.so', LD_LIBRARY_PATH: loaderDir },
  });
  expect(child.json.info).toMatchObject({ path: path.join(fs.realpathSync(here), 'libnrfjprogdll.so'), version: '10.13-10.18' });
});

it('refuses a truncated library file with VENDOR_LIBRARY_INVALID instead of loading it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-truncated-'));
  const whole = fs.readFileSync(fakeNrfjprog().libraryPath);
  const truncated = path.join(dir, 'libnrfjprogdll.so');
  fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const child = runChild('load-library.js', [], { env: { TFM_PROVISION_NRFJPROG_LIBRARY: truncated } });
  expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  expect(child.json.code).toBe('VENDOR_LIBRARY_INVALID');
  expect(child.json.message).toContain(truncated);
  expect(child.json.message).toContain('truncated');
});
