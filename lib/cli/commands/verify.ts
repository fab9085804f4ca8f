/** `tfm-provision verify`: read a device back and check what provisioning writes. Writes nothing. */
import type { Command } from 'commander';
import { asTfmError } from '../../errors';
import { EXIT, withExitCode } from '../../exit-codes';
import { verify } from '../../provision';
import { createOutput, errorOf, formatFields, formatMs } from '../output';
import type { CliIo } from '../io';
import { Shutdown } from '../shutdown';
import { addDeviceOptions, openSession, sessionOptionsFrom, type DeviceCommandOptions, type OpenedSession } from '../session';
import { displayName, parseImplementationId } from '../options';
import { commandHelp } from '../help';

interface VerifyCommandOptions extends DeviceCommandOptions {
  implementationId?: string;
  skipIdentityKey?: boolean;
}

export function register(program: Command, io: CliIo): void {
  const command = program.command('verify').description('Read a provisioned device back and check lifecycle, KMU slots, implementation ID and the network-core lock (and, on the simulator, TF-M\'s first boot on a copy). Writes nothing.');
  addDeviceOptions(command)
    .option('--json', 'JSON Lines on stdout: one {"type":"result"} line')
    .option('--implementation-id <hex>', 'expected 32-byte implementation ID (default the sample\'s)')
    .option('--skip-identity-key', 'do not expect the identity key slots')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision verify --sim dev.json',
        'tfm-provision verify --snr 1050012345 --json',
      ]),
    )
    .action(async (options: VerifyCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      (io.shutdown ?? new Shutdown()).arm();
      let opened: OpenedSession | undefined;
      let result;
      try {
        const sessionOptions = sessionOptionsFrom(options, io.cwd, io.env);
        const implementationId = options.implementationId !== undefined ? parseImplementationId(options.implementationId) : undefined;
        // Locked before the probe is opened: a read halts the CPU and moves the KMU slot selection.
        opened = await openSession(sessionOptions, { purpose: 'verify', env: io.env });
        result = await verify(opened.session, {
          chip: sessionOptions.chip,
          implementationId,
          identityKey: options.skipIdentityKey ? 'skip' : 'generate',
          bootModel: opened.bootModel,
        });
      } catch (error) {
        const tfm = asTfmError(error);
        out.result({ command: 'verify', ok: false, errorCode: tfm.code, error: tfm.toJSON() });
        throw tfm;
      } finally {
        await opened?.close();
      }
      if (!out.json) {
        out.line(`${result.ok ? 'Verified' : 'NOT verified'}: ${result.chip ? displayName(result.chip) : ''} ${result.deviceId ?? ''} (${opened.description})`);
        for (const c of result.checks) out.line(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.ok ? c.actual : `expected ${c.expected}, read ${c.actual}`}`);
        out.line(
          formatFields([
            ['lifecycle', result.lifecycle],
            ['identity key', result.identityPublicKey?.hex],
            ['instance ID', result.instanceId],
            ['probe operations', `${result.operations} in ${formatMs(result.durationMs)}`],
          ]).join('\n'),
        );
      }
      const { identityPublicKey, ok: _ok, chip: _chip, deviceId: _deviceId, lifecycle: _lifecycle, instanceId: _instanceId, ...rest } = result;
      out.result({
        command: 'verify',
        ok: result.ok,
        chip: result.chip ?? null,
        deviceId: result.deviceId ?? null,
        lifecycle: result.lifecycle ?? null,
        identityPublicKey: identityPublicKey?.hex ?? null,
        instanceId: result.instanceId ?? null,
        ...rest,
        errorCode: result.ok ? null : result.errorCode,
      });
      if (!result.ok) {
        // verify writes nothing: a device that fails its checks is "not verified" (3), never
        // "failed after writing" (4); probe and environment errors keep their own codes.
        const error = errorOf({ error: result.error, afterWrite: false });
        throw error.category === 'device' || error.category === 'refused' ? withExitCode(error, EXIT.REFUSED) : error;
      }
    });
}
