/**
 * `tfm-provision doctor` against the fake vendor libraries (scripts/build-fakes.js), a library
 * that is not there, a fake sysfs/devfs for J-Link USB permissions, a lock directory with a
 * stale lock and a record file with a broken chain. Each problem must come with a fix.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/program';
import { runDoctor } from '../../lib/cli/commands/doctor';
import { EXIT } from '../../lib/exit-codes';
import { fakeNrfjprog } from '../support/fake-vendor';
import { fakeJlinkLibraryPath } from '../support/fake-jlink';
import { captureIo } from './support/io';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tfm-doctor-'));
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 1001 }, { serialNumber: 1002, chip: 'nrf9160' }] });
  env = { ...process.env, FAKE_NRFJPROG_CONFIG: fake.configPath, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), TFM_PROVISION_NRFJPROG_LIBRARY: fake.libraryPath };
  delete env.TFM_PROVISION_JLINK_LIBRARY;
});

async function doctor(...args: string[]) {
  const c = captureIo({ cwd: dir, env });
  const code = await runCli(['doctor', ...args], c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const checks = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

test('with the fake libraries: both found with path and version, each lists its probes, exit 0', async () => {
  const r = await doctor('--jlink-library', fakeJlinkLibraryPath(), '--json');
  expect(r.code).toBe(EXIT.OK);
  const lines = checks(r.stdout);
  const byName = (n: string) => lines.find((l) => l.type === 'check' && l.name === n)!;
  expect(byName('addon')).toMatchObject({ ok: true, level: 'ok' });
  expect(byName('library nrfjprog')).toMatchObject({ ok: true, details: { path: env.TFM_PROVISION_NRFJPROG_LIBRARY, version: expect.stringMatching(/^10\./u), simulated: true } });
  expect(byName('library jlink')).toMatchObject({ ok: true, details: { path: fakeJlinkLibraryPath(), simulated: true } });
  expect(byName('probes nrfjprog').details.probes.map((p: { serialNumber: number }) => p.serialNumber)).toEqual([1001, 1002]);
  expect(byName('probes jlink').ok).toBe(true);
  expect(lines[lines.length - 1]).toMatchObject({ type: 'result', command: 'doctor', ok: true, errorCode: null, problems: 0 });
});

test('a library that is not there: not found, with its fix; with neither library usable it is a problem', async () => {
  const missing = path.join(dir, 'no', 'libnrfjprogdll.so');
  const r = await doctor('--nrfjprog-library', missing, '--jlink-library', path.join(dir, 'no', 'libjlinkarm.so'), '--json');
  const lines = checks(r.stdout);
  const nrfjprog = lines.find((l) => l.name === 'library nrfjprog')!;
  expect(nrfjprog).toMatchObject({ ok: false, errorCode: 'VENDOR_LIBRARY_NOT_FOUND' });
  expect(nrfjprog.fix).toMatch(/nRF Command Line Tools/u);
  expect(lines.find((l) => l.name === 'libraries')).toMatchObject({ level: 'problem', errorCode: 'VENDOR_LIBRARY_NOT_FOUND' });
  expect(r.code).not.toBe(EXIT.OK);
  expect(lines[lines.length - 1]).toMatchObject({ type: 'result', ok: false, errorCode: 'VENDOR_LIBRARY_NOT_FOUND' });
  // One usable library is enough: the other missing is information, not a problem.
  const one = await doctor('--jlink-library', path.join(dir, 'no', 'libjlinkarm.so'));
  expect(one.code).toBe(EXIT.OK);
  expect(one.stdout).toMatch(/info {2}library jlink: jlink: not found/u);
  expect(one.stdout).toMatch(/fix: Install the SEGGER J-Link Software Pack/u);
});

test('stale probe locks are reported with the files and a fix; a live holder is not stale', async () => {
  const locks = path.join(dir, 'locks');
  mkdirSync(locks);
  writeFileSync(path.join(locks, 'nrfjprog-1001.lock'), JSON.stringify({ pid: 2 ** 30, hostname: os.hostname(), acquiredAt: '', purpose: 'provision', token: 't' }));
  writeFileSync(path.join(locks, 'nrfjprog-1002.lock'), JSON.stringify({ pid: process.pid, hostname: os.hostname(), acquiredAt: '', purpose: 'provision', token: 'u' }));
  const found = (await runDoctor({ env, cwd: dir })).find((c) => c.name === 'probe locks')!;
  expect(found).toMatchObject({ level: 'warning', ok: false });
  expect(found.details!.stale).toEqual([path.join(locks, 'nrfjprog-1001.lock')]);
  expect(found.details!.held).toEqual([{ file: path.join(locks, 'nrfjprog-1002.lock'), pid: process.pid }]);
  expect(found.fix).toMatch(/delete the files/u);
});

test('J-Link udev: no rule is a warning with the rule to add; a rule file is found; an unreadable SEGGER node is a problem', async () => {
  const rules = path.join(dir, 'rules.d');
  const sys = path.join(dir, 'sys');
  const dev = path.join(dir, 'dev');
  mkdirSync(rules);
  mkdirSync(path.join(sys, '1-2'), { recursive: true });
  writeFileSync(path.join(sys, '1-2', 'idVendor'), '1366\n');
  writeFileSync(path.join(sys, '1-2', 'busnum'), '1\n');
  writeFileSync(path.join(sys, '1-2', 'devnum'), '7\n');
  mkdirSync(path.join(dev, '001'), { recursive: true });
  const node = path.join(dev, '001', '007');
  writeFileSync(node, '');
  const options = { env, cwd: dir, udevRulesDirs: [rules], sysUsbDir: sys, devUsbDir: dev };

  let result = await runDoctor(options);
  expect(result.find((c) => c.name === 'udev rules')).toMatchObject({ level: 'warning', fix: expect.stringContaining('ATTR{idVendor}=="1366"') });
  expect(result.find((c) => c.name === 'usb access')).toMatchObject({ level: 'ok', details: { nodes: [{ node, readable: true }] } });

  writeFileSync(path.join(rules, '99-jlink.rules'), 'SUBSYSTEM=="usb", ATTR{idVendor}=="1366", MODE="0666"\n');
  result = await runDoctor(options);
  expect(result.find((c) => c.name === 'udev rules')).toMatchObject({ level: 'ok', details: { files: [path.join(rules, '99-jlink.rules')] } });

  // Root reads every file whatever its mode, so the permission case runs only for other users.
  if (process.getuid?.() !== 0) {
    chmodSync(node, 0o000);
    result = await runDoctor(options);
    expect(result.find((c) => c.name === 'usb access')).toMatchObject({ level: 'problem', errorCode: 'CANNOT_CONNECT', fix: expect.stringContaining('udev') });
  }
});

test('--records: an intact chain is ok, a broken one is a problem with RECORDS_CHAIN_BROKEN and a fix', async () => {
  const c = captureIo({ cwd: dir, env });
  expect(await runCli(['provision', '--sim', '--records', 'r.jsonl'], c.io)).toBe(EXIT.OK);
  expect((await doctor('--records', 'r.jsonl')).stdout).toMatch(/ok {4}records: .*chain intact/u);
  const file = path.join(dir, 'r.jsonl');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/"probeSerial":\d+/u, '"probeSerial":1'));
  const broken = await doctor('--records', 'r.jsonl', '--json');
  expect(broken.code).not.toBe(EXIT.OK);
  const records = checks(broken.stdout).find((l) => l.name === 'records')!;
  expect(records).toMatchObject({ level: 'problem', errorCode: 'RECORDS_CHAIN_BROKEN', fix: expect.stringMatching(/new record file/u) });
});

test('a library of a wrong version or kind is named with the reason and a fix (nrfjprog 10.12, a file that is no library, a library without the J-Link API)', async () => {
  const old = fakeNrfjprog({ probes: [{ serialNumber: 1001 }], version: [10, 12, 0] });
  const notLibrary = path.join(dir, 'libnrfjprogdll.so');
  writeFileSync(notLibrary, 'not a shared object\n');
  for (const [library, reason] of [
    [old.libraryPath, /10\.12/u],
    [notLibrary, /could not load it/u],
  ] as const) {
    const c = captureIo({ cwd: dir, env: { ...env, FAKE_NRFJPROG_CONFIG: old.configPath } });
    const code = await runCli(['doctor', '--nrfjprog-library', library, '--jlink-library', path.join(dir, 'no', 'libjlinkarm.so'), '--json'], c.io);
    const lines = checks(c.stdout());
    const nrfjprog = lines.find((l) => l.name === 'library nrfjprog')!;
    expect(nrfjprog).toMatchObject({ ok: false, errorCode: expect.stringMatching(/^VENDOR_LIBRARY_(UNSUPPORTED|ERROR|INVALID)$/u) });
    expect(nrfjprog.summary).toMatch(reason);
    expect(nrfjprog.fix).toMatch(/nRF Command Line Tools 10\.13/u);
    // The summary and the result name the found-but-refused library's code, not NOT_FOUND (the J-Link
    // one is missing: that is the other way out, not the thing to fix).
    const summary = lines.find((l) => l.name === 'libraries')!;
    expect(summary).toMatchObject({ level: 'problem', errorCode: nrfjprog.errorCode });
    expect(summary.summary).toContain(`nrfjprog not usable (${nrfjprog.errorCode})`);
    expect(summary.summary).toContain('jlink not found');
    expect(summary.details.libraries).toEqual([
      { backend: 'nrfjprog', errorCode: nrfjprog.errorCode, found: true },
      { backend: 'jlink', errorCode: 'VENDOR_LIBRARY_NOT_FOUND', found: false },
    ]);
    expect(lines[lines.length - 1]).toMatchObject({ type: 'result', ok: false, errorCode: nrfjprog.errorCode });
    expect(code).toBe(EXIT.ENVIRONMENT);
  }
  const jlink = checks((await doctor('--jlink-library', old.libraryPath, '--json')).stdout).find((l) => l.name === 'library jlink')!;
  expect(jlink).toMatchObject({ ok: false });
  expect(jlink.summary).toMatch(/not a usable J-Link library: it lacks JLINKARM_/u);
  expect(jlink.fix).toMatch(/J-Link/u);
});
