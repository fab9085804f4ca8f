/** `tfm-provision inspect`: a read-only report of the device's provisioning state and what provision would do. */
import type { Command } from 'commander';
import { asTfmError } from '../../errors';
import { inspect, type DeviceReport } from '../../provision';
import { createOutput, formatFields, formatTable, type CommandOutput } from '../output';
import type { CliIo } from '../io';
import { Shutdown } from '../shutdown';
import { addDeviceOptions, openSession, sessionOptionsFrom, type DeviceCommandOptions, type OpenedSession } from '../session';
import { parseImplementationId } from '../options';
import { commandHelp } from '../help';

interface InspectCommandOptions extends DeviceCommandOptions {
  implementationId?: string;
  skipIdentityKey?: boolean;
}

function printReport(out: CommandOutput, r: DeviceReport, opened: OpenedSession): void {
  const yesNo = (open: boolean): string => (open ? 'open' : 'protected');
  out.line(`${r.displayName} ${r.deviceId} (${opened.description})`);
  out.line(
    formatFields([
      ['part / variant', `${r.part}${r.variant ? ` ${r.variant}` : ''}`],
      ['lifecycle', `${r.lifecycle.state}${r.lifecycle.psa ? ` (PSA ${r.lifecycle.psa})` : ''}; halfwords ${r.lifecycle.halfwords.provisioning} ${r.lifecycle.halfwords.secure} ${r.lifecycle.halfwords.reserved} ${r.lifecycle.halfwords.decommissioned}`],
      ['APPROTECT', `${r.protection.approtect} (${yesNo(r.protection.approtectOpen)} after reset)`],
      ['SECUREAPPROTECT', `${r.protection.secureApprotect} (${yesNo(r.protection.secureApprotectOpen)} after reset)`],
      ['ERASEPROTECT', `${r.protection.eraseProtect}${r.protection.eraseProtected ? ' (erase-all blocked)' : ''}`],
      ['implementation ID', `${r.implementationId.value} (${r.implementationId.state})`],
      ['network core', r.networkCore && (r.networkCore.accessible ? `APPROTECT ${r.networkCore.approtect}${r.networkCore.locked ? ' (locked)' : ''}` : 'debug port locked')],
    ]).join('\n'),
  );
  out.line('  KMU slots:');
  out.line(formatTable([['slot', 'role', 'DEST', 'PERM', 'VALUE'], ...r.kmuSlots.map((s) => [String(s.index), s.role, s.dest, s.perm, s.empty ? 'empty' : s.value])], '    ').join('\n'));
  out.line(`  components: ${Object.entries(r.components).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const d = r.decision;
  out.line(
    `  provision would: ${d.action === 'provision' ? 'provision this device' : d.action === 'alreadyProvisioned' ? 'do nothing (already provisioned)' : `refuse with ${d.errorCode}`}`,
  );
  if (d.message) out.line(`    ${d.message}`);
  for (const w of r.warnings) out.warn(w.message);
}

export function register(program: Command, io: CliIo): void {
  const command = program.command('inspect').description('Read the device and report lifecycle, protection, KMU slots and what `provision` would do. Writes nothing (on nRF5340 it releases the network core\'s FORCEOFF to read it).');
  addDeviceOptions(command)
    .option('--json', 'JSON Lines on stdout: one {"type":"result"} line with the report')
    .option('--implementation-id <hex>', 'implementation ID to compare with (default the sample\'s)')
    .option('--skip-identity-key', 'judge the device as provisioned without an identity key')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision inspect --sim dev.json',
        'tfm-provision inspect --snr 1050012345 --json',
      ]),
    )
    .action(async (options: InspectCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      (io.shutdown ?? new Shutdown()).arm();
      let opened: OpenedSession | undefined;
      let report: DeviceReport;
      try {
        const sessionOptions = sessionOptionsFrom(options, io.cwd, io.env);
        const implementationId = options.implementationId !== undefined ? parseImplementationId(options.implementationId) : undefined;
        // Locked before the probe is opened: a read halts the CPU and moves the KMU slot selection.
        opened = await openSession(sessionOptions, { purpose: 'inspect', env: io.env });
        report = await inspect(opened.session, { chip: sessionOptions.chip, implementationId, identityKey: options.skipIdentityKey ? 'skip' : 'generate' });
      } catch (error) {
        const tfm = asTfmError(error);
        out.result({ command: 'inspect', ok: false, errorCode: tfm.code, error: tfm.toJSON() });
        throw tfm;
      } finally {
        await opened?.close();
      }
      if (!out.json) printReport(out, report, opened);
      out.result({ command: 'inspect', ok: true, chip: report.chip, deviceId: report.deviceId, lifecycle: report.lifecycle.state, errorCode: null, report });
    });
}
