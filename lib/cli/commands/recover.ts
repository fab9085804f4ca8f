/**
 * `tfm-provision recover --snr N [--core network|application|all]`: CTRL-AP erase-all, the only way
 * back from a locked or partly provisioned device. It destroys the lifecycle and every key, so it
 * asks for a typed confirmation on real probes, and it reports the debug-port state it leaves.
 */
import type { Command } from 'commander';
import { TfmError } from '../../errors';
import { parseSerialNumber, selectProbe } from '../../station';
import { isSimulatedBinding } from '../../station/bindings';
import { RECOVER_WARNING, recoverDevice, type RecoverCoreChoice } from '../../device/recover';
import { confirmIrreversible } from '../confirm';
import { createOutput, formatFields, withResultLine } from '../output';
import { acquireProbeLock, type ProbeLock } from '../../station/probe-lock';
import type { CliIo } from '../io';
import { bindingFromCliOptions, displayName } from '../options';
import { snrFrom } from '../session';
import { Shutdown } from '../shutdown';
import { commandHelp } from '../help';

interface RecoverCommandOptions {
  snr?: string;
  serialNumber?: string;
  sim?: string;
  core?: string;
  yes?: boolean;
  leaveOpen?: boolean;
  json?: boolean;
  backend?: string;
  library?: string;
  simCount?: string;
  simStateDir?: string;
}

function parseCore(value: string | undefined): RecoverCoreChoice {
  const core = value ?? 'all';
  if (core !== 'all' && core !== 'application' && core !== 'network') {
    throw new TfmError('USAGE', `--core must be network, application or all (got "${core}").`);
  }
  return core;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('recover')
    .description(
      'Erase a device through its CTRL-AP (ERASEALL), which also reopens a locked debug port.\n' +
        'DESTROYS the PSA lifecycle, the hardware unique keys, the identity key and the implementation ID.\n' +
        'On nRF5340 the network core is erased first (that also erases the application core), then the ' +
        'application core. If the recover wrote the open UICR.APPROTECT value (nrfjprog does, by default), it is ' +
        'set to Protected unless --leave-open: the debug port stays open until the next reset, not for good.\n' +
        'The state the device is left in is read back and reported.',
    )
    .option('--snr <serial>', 'serial number of the probe (required when several are connected)')
    .option('--serial-number <serial>', 'the same as --snr (nrfutil\'s name for it)')
    .option('--sim <state-file>', 'recover the simulated device in state-file instead (it must exist; saved after)')
    .option('--core <core>', 'network, application or all (nRF5340; nRF91 has only the application core)', 'all')
    .option('-y, --yes', 'do not ask for typed confirmation on a real probe')
    .option('--leave-open', 'keep UICR.APPROTECT open if the recover wrote the open value (nrfjprog does by default); otherwise it is set to Protected')
    .option('--json', 'JSON Lines on stdout: one {"type":"result"} line')
    .option('--backend <backend>', 'probe library: nrfjprog, jlink or auto', 'auto')
    .option('--library <path>', 'path of the vendor library (nrfjprog DLL or J-Link DLL)')
    .option('--sim-count <n>', 'use N simulated probes instead (no hardware)')
    .option('--sim-state-dir <dir>', 'with --sim-count: the simulated devices kept in <dir>/<serial>.json')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision recover --sim dev.json',
        'tfm-provision recover --snr 1050012345 --core network',
      ]),
    )
    .action(async (options: RecoverCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      const shutdown = io.shutdown ?? new Shutdown();
      shutdown.arm();
      await withResultLine(out, 'recover', async (done) => {
        const core = parseCore(options.core);
        const snrText = snrFrom(options);
        const snr = snrText !== undefined ? parseSerialNumber(snrText) : undefined;
        const { binding, fleet } = bindingFromCliOptions(options, io.cwd);
        const probe = await selectProbe(binding, snr);
        const simulated = await isSimulatedBinding(binding);
        let lock: ProbeLock | undefined;
        try {
          if (fleet === undefined || fleet.lockScope !== undefined) {
            lock = await acquireProbeLock(probe.serialNumber, { backend: binding.backend, purpose: 'recover', env: io.env, scope: fleet?.lockScope });
          }
          if (!out.json) io.stderr.write(`WARNING: ${RECOVER_WARNING}\n`);
          await confirmIrreversible(io, {
            action: `recover (erase all${core === 'all' ? '' : `, ${core} core`}: lifecycle and keys are destroyed)`,
            serialNumbers: [probe.serialNumber],
            yes: options.yes === true,
            simulated,
            signal: shutdown.signal,
          });
          const session = await binding.open(probe.serialNumber);
          let report;
          try {
            report = await recoverDevice(session, core, { leaveOpen: options.leaveOpen === true });
          } finally {
            await session.close().catch(() => undefined);
          }
          for (const warning of report.warnings) out.warn(warning, 'APPROTECT_LEFT_OPEN');
          out.line(`Recovered ${displayName(report.chip)} at probe ${probe.serialNumber}: erased ${report.erased.join(' core, then ')} core in ${report.durationMs} ms.`);
          out.line(formatFields(report.protection.map((p) => [`${p.core} debug port`, `${p.state}: ${p.description}`])).join('\n'));
          out.line('The device is in lifecycle ASSEMBLY with no keys: provision it again.');
          done();
          out.result({
            command: 'recover',
            ok: true,
            probe: probe.serialNumber,
            chip: report.chip,
            erased: report.erased,
            protection: report.protection,
            warnings: report.warnings,
            durationMs: report.durationMs,
          });
        } finally {
          await lock?.release();
        }
      });
    });
}
