/**
 * Finding and vetting the vendor library: refusal of the wrong libraries without calling into them
 * (the broken fakes abort() the process if anything is called), the search order, and the addon
 * seam.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProbeError } from '../../lib/errors';
import { NativeBinding, loadNativeAddon, type NativeAddon } from '../../lib/probe/native';
import { brokenLibraryPath, fakeNrfjprog } from '../support/fake-vendor';
import { runChild } from './child-process';

function constructionError(run: () => unknown): ProbeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProbeError);
    return error as ProbeError;
  }
  throw new Error('expected a ProbeError');
}

describe('vendor library loading', () => {
  it('refuses an nrfjprog library without the _inst API (10.12 or older), saying what it found', () => {
    const error = constructionError(() => new NativeBinding({ backend: 'nrfjprog', library: brokenLibraryPath('no-inst') }));
    expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
    expect(error.message).toContain('without the _inst API');
    expect(error.message).toContain('NRFJPROG_open_dll');
    expect(error.message).toContain('10.12 or older');
  });

  it('refuses the deprecated high-level library, whose functions share names but not signatures', () => {
    const error = constructionError(() => new NativeBinding({ backend: 'nrfjprog', library: brokenLibraryPath('highlevel') }));
    expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
    expect(error.message).toContain('libhighlevelnrfjprog');
    expect(error.message).toContain('libnrfjprogdll');
  });

  it('refuses an _inst library older than 10.13 by its NRFJPROG_version', () => {
    const fake = fakeNrfjprog({ version: [10, 12, 3] });
    const error = constructionError(() => fake.binding());
    expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
    expect(error.message).toContain('nrfjprog 10.12.3');
    expect(fakeNrfjprog({ version: [10, 13, 0] }).binding().backend).toBe('nrfjprog');
  });

  it('reports a missing library as VENDOR_LIBRARY_NOT_FOUND naming the path it was given', () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'libnrfjprogdll.so');
    const error = constructionError(() => new NativeBinding({ backend: 'nrfjprog', library: missing }));
    expect(error.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('`library` option');
  });

  it('reports a file that is not a loadable library as VENDOR_LIBRARY_ERROR with the loader message', () => {
    const notALibrary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-notlib-')), 'libnrfjprogdll.so');
    fs.writeFileSync(notALibrary, 'not an ELF file');
    const error = constructionError(() => new NativeBinding({ backend: 'nrfjprog', library: notALibrary }));
    expect(error.code).toBe('VENDOR_LIBRARY_ERROR');
    expect(error.message).toContain(notALibrary);
  });

  it('refuses a shared library that does not export the nrfjprog API', () => {
    const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib64/libc.so.6'].find((p) => fs.existsSync(p));
    if (!libc) return; // not a glibc x86-64 system
    const error = constructionError(() => new NativeBinding({ backend: 'nrfjprog', library: libc }));
    expect(error.code).toBe('VENDOR_LIBRARY_UNSUPPORTED');
    expect(error.message).toContain('does not export the nrfjprog API');
  });

  it('finds the library through TFM_PROVISION_NRFJPROG_LIBRARY', () => {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 42 }] });
    const child = runChild('load-library.js', [], { env: { TFM_PROVISION_NRFJPROG_LIBRARY: fake.libraryPath } });
    expect(child.json).toEqual({
      info: { backend: 'nrfjprog', path: fake.libraryPath, version: '10.24.2', simulated: true },
      probes: [{ serialNumber: 42 }],
    });
  });

  it('names the environment variable when it points nowhere, and the standard locations when nothing is set', () => {
    const missing = path.join(os.tmpdir(), 'nowhere', 'libnrfjprogdll.so');
    const fromEnv = runChild('load-library.js', [], { env: { TFM_PROVISION_NRFJPROG_LIBRARY: missing } });
    expect(fromEnv.json.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
    expect(fromEnv.json.message).toContain(missing);
    expect(fromEnv.json.message).toContain('TFM_PROVISION_NRFJPROG_LIBRARY');

    const installed = '/opt/nrf-command-line-tools/lib/libnrfjprogdll.so';
    if (fs.existsSync(installed)) return; // a machine with the real tools finds them
    const env = { ...process.env };
    delete env.TFM_PROVISION_NRFJPROG_LIBRARY;
    const standard = runChild('load-library.js', [], { env: { ...env, TFM_PROVISION_NRFJPROG_LIBRARY: '' } });
    expect(standard.json.code).toBe('VENDOR_LIBRARY_NOT_FOUND');
    expect(standard.json.message).toContain(installed);
    expect(standard.json.message).toContain('libnrfjprogdll.so (dynamic loader search path)');
  });

  it("'auto' takes nrfjprog when its library loads", () => {
    const fake = fakeNrfjprog();
    expect(new NativeBinding({ backend: 'auto', library: fake.libraryPath }).backend).toBe('nrfjprog');
  });

  it("'auto' reports both backends when neither can use the library", () => {
    const error = constructionError(() => new NativeBinding({ backend: 'auto', library: brokenLibraryPath('highlevel') }));
    expect(['VENDOR_LIBRARY_UNSUPPORTED', 'VENDOR_LIBRARY_NOT_FOUND']).toContain(error.code);
    expect(error.message).toContain('nrfjprog: ');
    expect(error.message).toContain('J-Link: ');
  });

  it('rejects an unknown backend name', () => {
    expect(constructionError(() => new NativeBinding({ backend: 'openocd' as never })).code).toBe('INVALID_PARAMETER');
  });

  it('reports an addon that cannot be loaded as NATIVE_ADDON_UNAVAILABLE', () => {
    const error = constructionError(() => new NativeBinding({ nativeAddon: path.join(os.tmpdir(), 'missing', 'tfm_provision.node') }));
    expect(error.code).toBe('NATIVE_ADDON_UNAVAILABLE');
    expect(error.message).toContain('npm rebuild');
  });

  it('uses an injected addon object instead of the built one', async () => {
    const real = loadNativeAddon();
    const created: string[] = [];
    const injected: NativeAddon = {
      abiVersion: real.abiVersion,
      liveWorkers: () => real.liveWorkers(),
      shutdown: () => real.shutdown(),
      Library: class {
        constructor(backend: string) {
          created.push(backend);
        }
        info() {
          return { backend: 'jlink' as const, path: '/fake/libjlinkarm.so', version: 'V7.94e', simulated: true };
        }
        async list() {
          return [{ serialNumber: 77, product: 'J-Link OB' }];
        }
      } as unknown as NativeAddon['Library'],
      Session: real.Session,
    };
    const binding = new NativeBinding({ backend: 'jlink', nativeAddon: injected });
    expect(created).toEqual(['jlink']);
    expect(binding.backend).toBe('jlink');
    expect(await binding.list()).toEqual([{ serialNumber: 77, product: 'J-Link OB' }]);
  });
});
