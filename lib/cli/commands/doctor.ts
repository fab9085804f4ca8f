/**
 * `tfm-provision doctor`: what is wrong with this rig, each problem with its fix, in one command
 * (as `nrfutil device` and `probe-rs` users expect). Read-only: it loads the addon and the vendor
 * libraries and lists probes, but opens no probe, takes no lock and changes no file.
 */
import { accessSync, constants as fsConstants, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError, asTfmError, type ErrorCode } from '../../errors';
import { verifyRecordFile } from '../../records';
import { isProcessAlive } from '../../records/lockfile';
import { probeLockDirectory } from '../../station/probe-lock';
import { createOutput, withResultLine } from '../output';
import type { CliIo } from '../io';
import { commandHelp } from '../help';

export type CheckLevel = 'ok' | 'info' | 'warning' | 'problem';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  ok: boolean;
  summary: string;
  /** What to do about it (absent when nothing needs doing). */
  fix?: string;
  /** The TfmError code behind a problem or warning. */
  errorCode?: ErrorCode;
  details?: Record<string, unknown>;
}

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  records?: string;
  nrfjprogLibrary?: string;
  jlinkLibrary?: string;
  /** Where udev rules live (default /etc/udev/rules.d and /lib/udev/rules.d). */
  udevRulesDirs?: string[];
  /** sysfs USB devices (default /sys/bus/usb/devices) and their nodes (default /dev/bus/usb). */
  sysUsbDir?: string;
  devUsbDir?: string;
}

/** SEGGER's USB vendor ID (J-Link probes), as udev rules and lsusb show it. */
const SEGGER_VENDOR_ID = '1366';

const LIBRARY_ENV = { nrfjprog: 'TFM_PROVISION_NRFJPROG_LIBRARY', jlink: 'TFM_PROVISION_JLINK_LIBRARY' } as const;
const LIBRARY_FIX = {
  nrfjprog: 'Install nRF Command Line Tools 10.13 or later (libnrfjprogdll), or name the library with --nrfjprog-library PATH or TFM_PROVISION_NRFJPROG_LIBRARY.',
  jlink: 'Install the SEGGER J-Link Software Pack V6.42 or later (libjlinkarm), or name the library with --jlink-library PATH or TFM_PROVISION_JLINK_LIBRARY.',
} as const;

function nodeCheck(): DoctorCheck {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const engines = (require('../../../package.json') as { engines?: { node?: string } }).engines?.node ?? '>=18';
  const wanted = Number(/(\d+)/u.exec(engines)?.[1] ?? '18');
  const major = Number(process.versions.node.split('.')[0]);
  const ok = major >= wanted;
  return {
    name: 'node',
    level: ok ? 'ok' : 'problem',
    ok,
    summary: `Node.js ${process.version} on ${process.platform}-${process.arch}${ok ? '' : ` (the package needs ${engines})`}`,
    ...(ok ? {} : { fix: `Install Node.js ${engines}.`, errorCode: 'USAGE' as ErrorCode }),
    details: { version: process.version, platform: process.platform, arch: process.arch, engines },
  };
}

async function libraryChecks(options: DoctorOptions): Promise<DoctorCheck[]> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const native = require('../../probe/native') as typeof import('../../probe/native');
  let addon: import('../../probe/native').NativeAddon;
  try {
    addon = native.loadNativeAddon();
  } catch (error) {
    const e = asTfmError(error);
    return [{ name: 'addon', level: 'problem', ok: false, summary: e.message, errorCode: e.code, fix: 'Real probes need the addon: install python3, make and a C++17 compiler, then `npm rebuild tfm-provision`. --sim and tfm-provision/testing work without it.' }];
  }
  const checks: DoctorCheck[] = [{ name: 'addon', level: 'ok', ok: true, summary: `native addon loaded (ABI ${addon.abiVersion})`, details: { abiVersion: addon.abiVersion } }];
  let usable = 0;
  // Why each library could not be used, so the summary names the real cause (a library found but
  // of the wrong version or kind is not a missing one).
  const failures: Array<{ backend: 'nrfjprog' | 'jlink'; code: ErrorCode; found: boolean }> = [];
  for (const backend of ['nrfjprog', 'jlink'] as const) {
    // The option, else the variable in the run's environment (the addon itself reads process.env).
    const given = (backend === 'nrfjprog' ? options.nrfjprogLibrary : options.jlinkLibrary) ?? (options.env[LIBRARY_ENV[backend]] || undefined);
    const libraryPath = given !== undefined ? path.resolve(options.cwd, given) : undefined;
    let handle: import('../../probe/native').NativeLibraryHandle;
    try {
      // The addon's own loading: the same search, symbol and version checks a command makes.
      handle = new addon.Library(backend, libraryPath);
    } catch (error) {
      const e = native.toProbeError(error);
      const found = e.code !== 'VENDOR_LIBRARY_NOT_FOUND' && e.code !== 'JLINK_LIBRARY_NOT_FOUND';
      failures.push({ backend, code: e.code, found });
      checks.push({
        name: `library ${backend}`,
        level: 'info',
        ok: false,
        summary: `${backend}: ${found ? 'not usable' : 'not found'}: ${e.message}`,
        errorCode: e.code,
        fix: LIBRARY_FIX[backend],
        details: { path: libraryPath ?? null, env: LIBRARY_ENV[backend] },
      });
      continue;
    }
    usable++;
    const info = handle.info();
    checks.push({
      name: `library ${backend}`,
      level: 'ok',
      ok: true,
      summary: `${backend} ${info.version} at ${info.path}: supported${info.simulated ? ' (a simulated library: its probes are not hardware)' : ''}`,
      details: { path: info.path, version: info.version, simulated: info.simulated },
    });
    try {
      const probes = await handle.list();
      checks.push({
        name: `probes ${backend}`,
        level: probes.length > 0 ? 'ok' : 'info',
        ok: true,
        summary: probes.length > 0 ? `${backend} lists ${probes.length} probe(s): ${probes.map((p) => p.serialNumber).join(', ')}` : `${backend} lists no probes`,
        ...(probes.length > 0 ? {} : { fix: 'Connect a probe (check the USB cable and that the kit is powered), or run `tfm-provision list --sim-count 2` to try the tool without one.' }),
        details: { probes: probes.map((p) => ({ serialNumber: p.serialNumber, product: p.product ?? null })) },
      });
    } catch (error) {
      const e = native.toProbeError(error);
      checks.push({ name: `probes ${backend}`, level: 'problem', ok: false, summary: `${backend} could not list probes: ${e.message}`, errorCode: e.code, fix: 'Check the probe connection and that no other tool holds the probe; on Linux see the udev check.' });
    }
  }
  if (usable === 0) {
    // The code of a library that was found but refused comes first: it is what to fix (a missing
    // one is only the other way out). Each library's own code is in its line and in details.
    const cause = failures.find((f) => f.found) ?? failures[0];
    const states = failures.map((f) => `${f.backend} ${f.found ? `not usable (${f.code})` : 'not found'}`).join(', ');
    checks.push({
      name: 'libraries',
      level: 'problem',
      ok: false,
      summary: `No usable probe library (${states}): commands with --snr cannot reach a probe.`,
      errorCode: cause?.code ?? 'VENDOR_LIBRARY_NOT_FOUND',
      fix: `${LIBRARY_FIX.nrfjprog} Or: ${LIBRARY_FIX.jlink}`,
      details: { libraries: failures.map((f) => ({ backend: f.backend, errorCode: f.code, found: f.found })) },
    });
  }
  return checks;
}

/** J-Link on Linux: a udev rule granting access to SEGGER's USB devices, and the nodes readable. */
function udevCheck(options: DoctorOptions): DoctorCheck[] {
  if (process.platform !== 'linux' && options.udevRulesDirs === undefined) return [];
  const dirs = options.udevRulesDirs ?? ['/etc/udev/rules.d', '/lib/udev/rules.d', '/usr/lib/udev/rules.d'];
  const rules: string[] = [];
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.rules')) continue;
      const file = path.join(dir, name);
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      // SEGGER's package installs 99-jlink.rules; any rule naming vendor 1366 does the job.
      if (/jlink|segger/iu.test(name) || new RegExp(`idVendor\\}?=+"?${SEGGER_VENDOR_ID}`, 'iu').test(text)) rules.push(file);
    }
  }
  const checks: DoctorCheck[] = [
    rules.length > 0
      ? { name: 'udev rules', level: 'ok', ok: true, summary: `J-Link udev rule: ${rules.join(', ')}`, details: { files: rules } }
      : {
          name: 'udev rules',
          level: 'warning',
          ok: false,
          summary: `No udev rule for SEGGER J-Link (USB vendor ${SEGGER_VENDOR_ID}) in ${dirs.join(', ')}: only root may open the probe.`,
          fix: 'Install the J-Link Software Pack (it adds /etc/udev/rules.d/99-jlink.rules), or add a rule for ATTR{idVendor}=="1366" with MODE="0666", then `sudo udevadm control --reload && sudo udevadm trigger` and reconnect the probe.',
          details: { searched: dirs },
        },
  ];
  const sysDir = options.sysUsbDir ?? '/sys/bus/usb/devices';
  const devDir = options.devUsbDir ?? '/dev/bus/usb';
  const nodes: Array<{ node: string; readable: boolean }> = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(sysDir);
  } catch {
    entries = [];
  }
  for (const entry of entries) {
    const read = (attribute: string): string | undefined => {
      try {
        return readFileSync(path.join(sysDir, entry, attribute), 'utf8').trim();
      } catch {
        return undefined;
      }
    };
    if (read('idVendor')?.toLowerCase() !== SEGGER_VENDOR_ID) continue;
    const bus = Number(read('busnum'));
    const dev = Number(read('devnum'));
    if (!Number.isInteger(bus) || !Number.isInteger(dev)) continue;
    const node = path.join(devDir, String(bus).padStart(3, '0'), String(dev).padStart(3, '0'));
    let readable = false;
    try {
      accessSync(node, fsConstants.R_OK | fsConstants.W_OK);
      readable = true;
    } catch {
      readable = false;
    }
    nodes.push({ node, readable });
  }
  const denied = nodes.filter((n) => !n.readable);
  if (nodes.length === 0) {
    checks.push({ name: 'usb access', level: 'info', ok: true, summary: 'No SEGGER USB device connected.' });
  } else if (denied.length === 0) {
    checks.push({ name: 'usb access', level: 'ok', ok: true, summary: `SEGGER USB device(s) readable and writable: ${nodes.map((n) => n.node).join(', ')}`, details: { nodes } });
  } else {
    checks.push({
      name: 'usb access',
      level: 'problem',
      ok: false,
      summary: `No permission on ${denied.map((n) => n.node).join(', ')} (a J-Link): the probe cannot be opened as ${os.userInfo().username}.`,
      errorCode: 'CANNOT_CONNECT',
      fix: 'Install the J-Link udev rule (see the udev rules check), reload udev and reconnect the probe; or add the user to the group the rule names.',
      details: { nodes },
    });
  }
  return checks;
}

/** Lock files left by processes that are gone (they are taken over on the next use of the probe). */
function lockCheck(options: DoctorOptions): DoctorCheck {
  const dir = probeLockDirectory(options.env);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.lock'));
  } catch {
    return { name: 'probe locks', level: 'ok', ok: true, summary: `No probe lock directory (${dir}): no probe is held.`, details: { directory: dir } };
  }
  const stale: string[] = [];
  const held: Array<{ file: string; pid: number }> = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const holder = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; hostname?: unknown };
      if (typeof holder.pid === 'number' && holder.hostname === os.hostname() && isProcessAlive(holder.pid)) held.push({ file, pid: holder.pid });
      else if (holder.hostname === os.hostname()) stale.push(file);
    } catch {
      stale.push(file);
    }
  }
  if (stale.length === 0) {
    return { name: 'probe locks', level: held.length > 0 ? 'info' : 'ok', ok: true, summary: held.length > 0 ? `Probes in use: ${held.map((h) => `${path.basename(h.file)} by process ${h.pid}`).join(', ')}` : `No stale probe locks in ${dir}.`, details: { directory: dir, held } };
  }
  return {
    name: 'probe locks',
    level: 'warning',
    ok: false,
    summary: `${stale.length} stale probe lock(s) (their process is gone): ${stale.join(', ')}`,
    fix: 'They are taken over the next time the probe is used; to clear them now, delete the files listed (no tfm-provision process should be running).',
    details: { directory: dir, stale, held },
  };
}

async function recordsCheck(options: DoctorOptions): Promise<DoctorCheck | undefined> {
  if (options.records === undefined) return undefined;
  const file = path.resolve(options.cwd, options.records);
  if (!existsSync(file)) return { name: 'records', level: 'problem', ok: false, summary: `No record file ${file}.`, errorCode: 'FILE_ERROR', fix: 'Check the path given to --records.' };
  const report = await verifyRecordFile(file);
  if (report.ok) return { name: 'records', level: 'ok', ok: true, summary: `${file}: chain intact, ${report.lines} records`, details: { lines: report.lines, headHash: report.headHash } };
  return {
    name: 'records',
    level: 'problem',
    ok: false,
    summary: `${file}: the chain breaks at line ${report.firstBreak!.line}: ${report.firstBreak!.reason}`,
    errorCode: 'RECORDS_CHAIN_BROKEN',
    fix: 'Keep the file as evidence and start a new record file (--records NEW); lines from the break on cannot be trusted. `tfm-provision records verify FILE` shows the same.',
    details: { ...report.firstBreak },
  };
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [nodeCheck(), ...(await libraryChecks(options)), ...udevCheck(options), lockCheck(options)];
  const records = await recordsCheck(options);
  if (records !== undefined) checks.push(records);
  return checks;
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', info: 'info', warning: 'WARN', problem: 'FAIL' };

export function register(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('Check this machine for what tfm-provision needs: Node, the native addon, the nrfjprog and J-Link libraries, their probes, J-Link USB permissions, stale probe locks and (with --records) a record file. Each problem comes with its fix. Changes nothing.')
    .option('--json', 'JSON Lines: one {"type":"check"} line per check, then {"type":"result"}')
    .option('--records <file>', 'also check the hash chain of this record file')
    .option('--nrfjprog-library <path>', 'the nrfjprog library to check instead of the standard locations')
    .option('--jlink-library <path>', 'the J-Link library to check instead of the standard locations')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision doctor',
        'tfm-provision doctor --records line1.jsonl --json',
      ]),
    )
    .action(async (options: { json?: boolean; records?: string; nrfjprogLibrary?: string; jlinkLibrary?: string }) => {
      const out = createOutput(io, { json: options.json });
      await withResultLine(out, 'doctor', async (done) => {
        const checks = await runDoctor({ env: io.env, cwd: io.cwd, records: options.records, nrfjprogLibrary: options.nrfjprogLibrary, jlinkLibrary: options.jlinkLibrary });
        for (const c of checks) {
          out.event({ type: 'check', ...c });
          out.line(`${MARK[c.level]}  ${c.name}: ${c.summary}`);
          if (c.fix !== undefined && c.level !== 'ok') out.line(`      fix: ${c.fix}`);
        }
        const problems = checks.filter((c) => c.level === 'problem');
        const warnings = checks.filter((c) => c.level === 'warning');
        out.line();
        out.line(problems.length === 0 ? `No problems found${warnings.length > 0 ? ` (${warnings.length} warning(s))` : ''}.` : `${problems.length} problem(s) found.`);
        const first = problems[0];
        const error = first === undefined ? undefined : new TfmError(first.errorCode ?? 'INTERNAL_ERROR', `doctor: ${first.summary}`);
        done();
        out.result({ command: 'doctor', ok: error === undefined, errorCode: error?.code ?? null, ...(error !== undefined ? { error: error.toJSON() } : {}), problems: problems.length, warnings: warnings.length });
        if (error !== undefined) throw error;
      });
    });
}
