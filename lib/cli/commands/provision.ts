/**
 * `tfm-provision provision`: the provisioning sequence on one device, with the sample's five lines
 * and a summary for people, or JSON Lines for programs. Exit 0 only when provisioned and verified
 * (or already provisioned and verified, or a dry run that produced a plan).
 */
import { accessSync, constants as fsConstants, statSync, writeFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError, asTfmError } from '../../errors';
import { fromHex } from '../../device/hex';
import { isIdentityKeyWrapper, type IdentityKeyWrapper } from '../../keys/wrapper';
import { provision } from '../../provision';
import type { ProvisionEvent } from '../../provision/events';
import type { ProvisionResult } from '../../provision/types';
import { seededRandom } from '../../random';
import { getTarget } from '../../targets';
import { confirmIrreversible } from '../confirm';
import { createOutput, formatFields, formatMs, formatTable, type CommandOutput } from '../output';
import { acquireProbeLock, type ProbeLock } from '../probe-lock';
import type { CliIo } from '../program';
import { addDeviceOptions, openSession, sessionOptionsFrom, type DeviceCommandOptions, type OpenedSession } from '../session';
import { addImageStrategyOptions, imageStrategyOptionsFrom, type ImageCliOptions } from '../../image/cli-options';

interface ProvisionCommandOptions extends DeviceCommandOptions, ImageCliOptions {
  dryRun?: boolean;
  exportPublicKey?: string;
  allowModelWrapper?: boolean;
  allowEraseProtected?: boolean;
  identityWrapper?: string;
  implementationId?: string;
  skipIdentityKey?: boolean;
  seed?: string;
  yes?: boolean;
}

export function parseImplementationId(text: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text);
  } catch {
    throw new TfmError('USAGE', '--implementation-id must be 64 hexadecimal digits (32 bytes).');
  }
  if (bytes.length !== 32) throw new TfmError('USAGE', `--implementation-id must be 32 bytes (got ${bytes.length}).`);
  return bytes;
}

/** Loads a user's IdentityKeyWrapper: the module's default export, `identityKeyWrapper`, or the module itself. */
export function loadIdentityWrapper(modulePath: string, cwd: string): IdentityKeyWrapper {
  const resolved = path.resolve(cwd, modulePath);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loaded = require(resolved);
  } catch (error) {
    throw new TfmError('USAGE', `Cannot load the identity key wrapper module ${resolved}: ${(error as Error).message}`, { cause: error });
  }
  const m = loaded as Record<string, unknown>;
  for (const candidate of [m?.default, m?.identityKeyWrapper, loaded]) {
    if (isIdentityKeyWrapper(candidate)) return candidate;
  }
  throw new TfmError('USAGE', `${resolved} does not export an identity key wrapper: an object with a string "name" and a "wrap(input)" function returning 32 bytes (as default, as "identityKeyWrapper", or as the module).`);
}

/**
 * Checks, before the probe is even opened, that the public key can be written to `file` once the
 * device is provisioned: a directory that does not exist (or cannot be written) would otherwise be
 * noticed only after the irreversible writes. A path naming a directory is a usage error.
 */
export function checkExportPath(file: string): void {
  let stats: Stats | undefined;
  try {
    stats = statSync(file);
  } catch {
    stats = undefined; // a new file: its directory decides
  }
  if (stats?.isDirectory()) throw new TfmError('USAGE', `--export-public-key ${file} is a directory; name the PEM file to write.`);
  const directory = path.dirname(file);
  let directoryStats: Stats;
  try {
    directoryStats = statSync(directory);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot export the public key to ${file}: the directory ${directory} does not exist. Nothing was done to the device.`, { cause: error });
  }
  if (!directoryStats.isDirectory()) throw new TfmError('FILE_ERROR', `Cannot export the public key to ${file}: ${directory} is not a directory. Nothing was done to the device.`);
  try {
    accessSync(stats ? file : directory, fsConstants.W_OK);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot export the public key to ${file}: ${stats ? 'the file' : `the directory ${directory}`} is not writable. Nothing was done to the device.`, { cause: error });
  }
}

function humanEvent(out: CommandOutput, event: ProvisionEvent): void {
  if (event.type === 'message') out.line(event.text);
  else if (event.type === 'warning') out.warn(event.message);
}

function printSummary(out: CommandOutput, result: ProvisionResult, opened: OpenedSession): void {
  const device = `${result.chip ? `${getTarget(result.chip).displayName} ` : ''}${result.deviceId ?? ''}`.trim() || opened.description;
  // Reading a device takes register writes (KMU slot selection; on nRF5340 FORCEOFF, put back
  // afterwards), so "nothing was written" would not be the whole truth.
  const registers = `register writes only: KMU slot select${result.chip === undefined || getTarget(result.chip).network ? ', FORCEOFF' : ''}`;
  const noWrites = `No non-volatile writes (${registers}).`;
  const headline: Record<ProvisionResult['outcome'], string> = {
    provisioned: `Provisioned and verified: ${device}`,
    alreadyProvisioned: `Already provisioned (verified): ${device}. ${noWrites}`,
    dryRun: `Dry run: ${device}. ${noWrites}`,
    refused: `Refused: ${device}. ${noWrites}`,
    failed: result.afterWrite ? `FAILED after writing: ${device}. The device may be partly provisioned.` : `Failed: ${device}. ${noWrites}`,
  };
  out.line();
  out.line(headline[result.outcome]);
  const checks = result.verification?.checks;
  const boot = result.verification?.boot;
  out.line(
    formatFields([
      ['device', opened.description],
      ['lifecycle', result.lifecycleBefore && (result.lifecycleAfter && result.lifecycleAfter !== result.lifecycleBefore ? `${result.lifecycleBefore} -> ${result.lifecycleAfter}` : result.lifecycleBefore)],
      ['identity key', result.identityPublicKey?.hex],
      ['instance ID', result.instanceId],
      ['implementation ID', result.implementationId],
      ['identity wrapper', result.identityWrapper],
      ['present', result.outcome === 'refused' && result.present ? result.present.join(', ') || 'nothing' : undefined],
      ['missing', result.outcome === 'refused' && result.missing ? result.missing.join(', ') || 'nothing' : undefined],
      ['verification', checks && `${checks.filter((c) => c.ok).length}/${checks.length} checks passed${boot ? `; TF-M boot model: ${boot.ok ? String(boot.lifecycle).toUpperCase() : `refused${boot.errorCode ? ` (${boot.errorCode})` : ''}`}` : ''}`],
      ['steps', result.steps.filter((s) => s.name !== 'preflight' || result.steps.length > 1).map((s) => `${s.name}${s.skipped ? ' (skipped)' : s.ok ? '' : ' (FAILED)'}`).join(', ') || undefined],
      ['probe operations', `${result.operations} (${result.writes} non-volatile writes) in ${formatMs(result.durationMs)}`],
    ]).join('\n'),
  );
  if (checks && checks.some((c) => !c.ok)) {
    out.line('  failed checks:');
    for (const c of checks.filter((k) => !k.ok)) out.line(`    ${c.name}: expected ${c.expected}, read ${c.actual}`);
  }
  if (result.outcome === 'dryRun' && result.plan) {
    out.line(`  plan (${result.plan.length} writes, in order; key bytes shown as placeholders):`);
    out.line(formatTable(result.plan.map((w) => [w.step, w.core === 'network' ? 'net' : 'app', w.address, w.value, w.nvmc ? 'NVMC' : 'reg', w.purpose]), '    ').join('\n'));
  }
}

/** The last JSON line: the result, flattened for scripts (identityPublicKey is the hex string). */
export function resultLine(result: ProvisionResult): Record<string, unknown> {
  const { identityPublicKey, ok: _ok, outcome: _outcome, chip: _chip, deviceId: _deviceId, instanceId: _instanceId, errorCode: _errorCode, ...rest } = result;
  return {
    command: 'provision',
    ok: result.ok,
    outcome: result.outcome,
    chip: result.chip ?? null,
    deviceId: result.deviceId ?? null,
    lifecycle: result.lifecycleAfter ?? result.lifecycleBefore ?? null,
    identityPublicKey: identityPublicKey?.hex ?? null,
    identityPublicKeyPem: identityPublicKey?.pem ?? null,
    instanceId: result.instanceId ?? null,
    errorCode: result.errorCode ?? null,
    ...rest,
  };
}

export function errorOf(result: { error?: { code: string; message: string; details?: Record<string, unknown> }; afterWrite?: boolean }): TfmError {
  const e = result.error;
  return new TfmError((e?.code as TfmError['code']) ?? 'INTERNAL_ERROR', e?.message ?? 'failed', { afterWrite: result.afterWrite ?? false, details: e?.details });
}

export function register(program: Command, io: CliIo): void {
  const command = program
    .command('provision')
    .description(
      'Provision one device over the probe: lifecycle ASSEMBLY -> PROVISIONING, MKEK and MEXT, the identity key,\n' +
        'the implementation ID and (nRF5340) the network-core debug lock; each step read back, then verified.',
    );
  addImageStrategyOptions(addDeviceOptions(command))
    .option('--dry-run', 'read the device and print the plan; write nothing')
    .option('--json', 'JSON Lines on stdout: events, then one {"type":"result"} line')
    .option('--export-public-key <file>', 'write the identity public key (PEM) to this file after success')
    .option('--identity-wrapper <module>', 'JavaScript module exporting an IdentityKeyWrapper (the real CryptoCell format)')
    .option('--allow-model-wrapper', 'on a real probe, accept the built-in wrapping model (TF-M on silicon cannot decrypt it)')
    .option('--allow-erase-protected', 'provision a device with UICR.ERASEPROTECT set (an interrupted run could never be recovered)')
    .option('--skip-identity-key', 'provision everything but the identity key')
    .option('--implementation-id <hex>', '32-byte implementation ID (default: the sample\'s AA..BB..CC..DD)')
    .option('--seed <seed>', 'deterministic keys from this seed (simulated devices only)')
    .option('-y, --yes', 'do not ask for typed confirmation before irreversible writes on a real probe')
    .action(async (options: ProvisionCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      let opened: OpenedSession | undefined;
      let lock: ProbeLock | undefined;
      const controller = new AbortController();
      const onSigint = (): void => controller.abort();
      let result: ProvisionResult | undefined;
      try {
        const sessionOptions = sessionOptionsFrom(options, io.cwd);
        const implementationId = options.implementationId !== undefined ? parseImplementationId(options.implementationId) : undefined;
        const identityWrapper = options.identityWrapper !== undefined ? loadIdentityWrapper(options.identityWrapper, io.cwd) : undefined;
        const imageStrategy = imageStrategyOptionsFrom(options, io.cwd);
        if (options.exportPublicKey !== undefined) checkExportPath(path.resolve(io.cwd, options.exportPublicKey));
        opened = await openSession(sessionOptions);
        if (!opened.simulated) lock = await acquireProbeLock(opened.serialNumber, { backend: opened.backend, purpose: 'provision', env: io.env });
        const session = opened;
        process.once('SIGINT', onSigint);
        result = await provision(session.session, {
          ...imageStrategy,
          chip: sessionOptions.chip,
          random: options.seed !== undefined ? seededRandom(options.seed) : undefined,
          identityKey: options.skipIdentityKey ? 'skip' : 'generate',
          identityWrapper,
          allowModelWrapper: options.allowModelWrapper === true,
          allowEraseProtected: options.allowEraseProtected === true,
          implementationId,
          dryRun: options.dryRun === true,
          signal: controller.signal,
          bootModel: session.bootModel,
          onEvent: (event) => (out.json ? out.event(event) : humanEvent(out, event)),
          beforeIrreversible: (context) =>
            confirmIrreversible(io, {
              action: `provision ${context.chip} ${context.deviceId} (lifecycle, keys${context.plan.some((w) => w.step === 'networkCore') ? ', network-core debug lock' : ''}: irreversible until an erase-all)`,
              serialNumbers: [session.serialNumber],
              yes: options.yes === true,
              simulated: session.simulated,
            }),
        });
        if (result.ok && options.exportPublicKey !== undefined && result.identityPublicKey) {
          const file = path.resolve(io.cwd, options.exportPublicKey);
          try {
            writeFileSync(file, result.identityPublicKey.pem);
          } catch (error) {
            throw new TfmError('FILE_ERROR', `Provisioned, but the public key could not be written to ${file}: ${(error as Error).message}`, { cause: error });
          }
          out.note(`identity public key written to ${file}`);
        }
      } catch (error) {
        const tfm = asTfmError(error);
        if (result) result = { ...result, ok: false, errorCode: tfm.code, error: tfm.toJSON() as ProvisionResult['error'] };
        else out.result({ command: 'provision', ok: false, outcome: tfm.category === 'refused' || tfm.category === 'usage' ? 'refused' : 'failed', errorCode: tfm.code, error: tfm.toJSON(), afterWrite: false });
        if (!result) throw tfm;
      } finally {
        process.removeListener('SIGINT', onSigint);
        try {
          await opened?.close();
        } finally {
          await lock?.release();
        }
      }
      if (!out.json && opened) printSummary(out, result, opened);
      out.result(resultLine(result));
      if (!result.ok) throw errorOf(result);
    });
}
