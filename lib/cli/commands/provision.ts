/**
 * `tfm-provision provision`: the provisioning sequence on one device, with the sample's five lines
 * and a summary for people, or JSON Lines for programs. Exit 0 only when provisioned and verified
 * (or already provisioned and verified, or a dry run that produced a plan).
 */
import { accessSync, constants as fsConstants, statSync, type Stats } from 'node:fs';
import { statRegularOrAbsent, writeFileAtomic } from '../../files';
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError, asTfmError } from '../../errors';
import { provision } from '../../provision';
import type { ProvisionEvent } from '../../provision/events';
import type { FailedAfterWriteResult, ProvisionResult, ProvisionResultFields, RefusedResult, TfmErrorJson } from '../../provision/types';
import { seededRandom } from '../../random';
import { getTarget } from '../../targets';
import { confirmIrreversible } from '../confirm';
import { createOutput, errorOf, formatFields, formatMs, formatTable, type CommandOutput } from '../output';
import { ProgressRenderer, type ProgressStream, type RowStatus } from '../progress';
import { AttemptRecorder, RecordWriter, type ResultRecord } from '../../records';
import type { ResultInput } from '../../records/format';
import { PgRegistry, stationIdentity } from '../../registry/pg';
import { RegistryAttempt } from '../../registry/attempt';
import {
  DEFAULT_RECORDS_FILE,
  LOT_OPTION_HELP,
  REGISTRY_OPTION_HELP,
  STATION_KEY_OPTION_HELP,
  TFM_VERSION_HELP,
  checkRunFiles,
  loadIdentityWrapper,
  openStationKey,
  parseImplementationId,
  parseTfmVersion,
  registryOptionsFrom,
} from '../options';
import { Shutdown } from '../shutdown';
import type { CliIo } from '../io';
import { addDeviceOptions, checkSelection, openSession, parseSerialNumber, sessionOptionsFrom, type DeviceCommandOptions, type OpenedSession } from '../session';
import { addImageStrategyOptions, imageStrategyOptionsFrom, type ImageCliOptions } from '../image-options';
import { commandHelp } from '../help';

interface ProvisionCommandOptions extends DeviceCommandOptions, ImageCliOptions {
  dryRun?: boolean;
  registry?: string;
  lot?: string;
  exportPublicKey?: string;
  allowModelWrapper?: boolean;
  allowEraseProtected?: boolean;
  identityWrapper?: string;
  implementationId?: string;
  tfmVersion?: string;
  skipIdentityKey?: boolean;
  seed?: string;
  yes?: boolean;
  /** A path, false for --no-records, undefined for the default file. */
  records?: string | false;
  stationKey?: string;
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
  // A FIFO would block the write after provisioning, with the session open; a device is no file.
  if (stats !== undefined && !stats.isFile()) statRegularOrAbsent(file, '--export-public-key');
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

const ROW_STATUS: Record<ProvisionResult['outcome'], RowStatus> = {
  provisioned: 'passed',
  alreadyProvisioned: 'already',
  dryRun: 'skipped',
  refused: 'refused',
  failed: 'failed',
};

/**
 * Human output on a terminal: a live task list (one line per step with its time), the sample's
 * five lines and the warnings printed above it in order. Paused while the typed confirmation asks
 * its question (a redraw would overwrite it), then continued below it. Not used with --json or
 * when stdout is not a terminal: then the plain lines are printed as they come.
 */
class LiveProgress {
  private renderer: ProgressRenderer;
  private readonly key = 'device';

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
  ) {
    this.renderer = this.start();
  }

  private start(): ProgressRenderer {
    const renderer = new ProgressRenderer(this.stream, { layout: 'tasks', live: true });
    renderer.addRow(this.key, this.label);
    renderer.rowRunning(this.key);
    return renderer;
  }

  onEvent(event: ProvisionEvent): void {
    if (event.type === 'stepBegin') this.renderer.stepBegin(this.key, event.step);
    else if (event.type === 'stepEnd') this.renderer.stepEnd(this.key, event.step, { ok: event.ok, skipped: event.skipped, durationMs: event.durationMs, note: event.detail });
    else if (event.type === 'message') this.renderer.log(event.text);
    else if (event.type === 'warning') this.renderer.log(`warning: ${event.message}`);
  }

  /** Stops redrawing (the last frame stays on screen) so a question can be asked below it. */
  pause(): void {
    this.renderer.stop();
  }

  /** Continues below whatever was printed since pause(), with the steps still to come. */
  resume(): void {
    this.renderer = this.start();
  }

  finish(outcome: ProvisionResult['outcome'] | undefined, note?: string): void {
    this.renderer.rowDone(this.key, outcome === undefined ? 'failed' : ROW_STATUS[outcome], note);
    this.renderer.stop();
  }
}

function printSummary(out: CommandOutput, run: ProvisionResult, opened: OpenedSession, recordsFile?: string): void {
  // Every field, optional where an outcome lacks it: the summary prints what there is.
  const result: ProvisionResultFields = run;
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
      ['instance ID', result.instanceId && `${result.instanceId} (TF-M ${result.instanceIdFormula ?? '2.2'} formula)`],
      ['implementation ID', result.implementationId],
      ['identity wrapper', result.identityWrapper],
      ['present', result.outcome === 'refused' && result.present ? result.present.join(', ') || 'nothing' : undefined],
      ['missing', result.outcome === 'refused' && result.missing ? result.missing.join(', ') || 'nothing' : undefined],
      ['verification', checks && `${checks.filter((c) => c.ok).length}/${checks.length} checks passed${boot ? `; TF-M boot model: ${boot.ok ? String(boot.lifecycle).toUpperCase() : `refused${boot.errorCode ? ` (${boot.errorCode})` : ''}`}` : ''}${result.verification?.attestation ? `; attestation: ${result.verification.attestation.ok ? 'verified' : `failed (${result.verification.attestation.errorCodes.join(', ')})`}` : ''}`],
      ['steps', result.steps.filter((s) => s.name !== 'preflight' || result.steps.length > 1).map((s) => `${s.name}${s.skipped ? ' (skipped)' : s.ok ? '' : ' (FAILED)'}`).join(', ') || undefined],
      ['probe operations', `${result.operations} (${result.writes} non-volatile writes) in ${formatMs(result.durationMs)}`],
      ['records', recordsFile],
    ]).join('\n'),
  );
  if (checks && checks.some((c) => !c.ok)) {
    out.line('  failed checks:');
    for (const c of checks.filter((k) => !k.ok)) out.line(`    ${c.name}: expected ${c.expected}, read ${c.actual}`);
  }
  if (run.outcome === 'dryRun') {
    out.line(`  plan (${run.plan.length} writes, in order; key bytes shown as placeholders):`);
    out.line(formatTable(run.plan.map((w) => [w.step, w.core === 'network' ? 'net' : 'app', w.address, w.value, w.nvmc ? 'NVMC' : 'reg', w.purpose]), '    ').join('\n'));
  }
}

/** The last JSON line: the result, flattened for scripts (identityPublicKey is the hex string). */
export function resultLine(result: ProvisionResultFields): Record<string, unknown> {
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

export function register(program: Command, io: CliIo): void {
  const command = program
    .command('provision')
    .description(
      'Provision one device over the probe: lifecycle ASSEMBLY -> PROVISIONING, MKEK and MEXT, the identity key, ' +
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
    .option('--tfm-version <version>', TFM_VERSION_HELP)
    .option('--seed <seed>', 'deterministic keys from this seed (simulated devices only)')
    .option('-y, --yes', 'do not ask for typed confirmation before irreversible writes on a real probe')
    .option('--records <file>', `append the attempt's intent and result records to this file (default ./${DEFAULT_RECORDS_FILE})`)
    .option('--no-records', 'write no record file')
    .option('--station-key <file>', STATION_KEY_OPTION_HELP)
    .option('--registry <url>', REGISTRY_OPTION_HELP)
    .option('--lot <name>', LOT_OPTION_HELP)
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision provision --sim                       # a fresh simulated nRF5340',
        'tfm-provision provision --sim dev.json              # the device in dev.json, saved after',
        'tfm-provision provision --sim --chip nrf9160 --json # a simulated nRF9160, JSON Lines',
        'tfm-provision provision --snr 1050012345 --dry-run  # the plan; nothing written',
        'tfm-provision provision --snr 1050012345 --strategy image --image provisioning_image.hex',
        'tfm-provision provision --snr 1050012345 --registry postgresql://line1@db/factory --lot L2026-12',
      ]),
    )
    .action(async (options: ProvisionCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      let opened: OpenedSession | undefined;
      let records: RecordWriter | undefined;
      let recorder: AttemptRecorder | undefined;
      let registry: PgRegistry | undefined;
      let registryAttempt: RegistryAttempt | undefined;
      let progress: LiveProgress | undefined;
      // SIGINT, SIGTERM, SIGHUP and a closed output all stop the run the same way (cli/shutdown).
      const shutdown = io.shutdown ?? new Shutdown();
      shutdown.arm();
      let result: ProvisionResult | undefined;
      // A failure after provision() resolved (the public key export): the command fails, the device outcome stands.
      let commandError: TfmError | undefined;
      try {
        // provision is the one device command that may start a state file: its input is a fresh device.
        const sessionOptions = { ...sessionOptionsFrom(options, io.cwd, io.env), createMissingSimState: true };
        // Usage errors come before the record file: they are no attempt on a device.
        checkSelection(sessionOptions);
        const simulatedRequest = sessionOptions.sim !== undefined && sessionOptions.sim !== false;
        const probeSerial = simulatedRequest ? undefined : parseSerialNumber(sessionOptions.snr!);
        const implementationId = options.implementationId !== undefined ? parseImplementationId(options.implementationId) : undefined;
        const tfmVersion = parseTfmVersion(options.tfmVersion);
        const identityWrapper = options.identityWrapper !== undefined ? loadIdentityWrapper(options.identityWrapper, io.cwd) : undefined;
        const imageStrategy = imageStrategyOptionsFrom(options, io.cwd);
        if (options.exportPublicKey !== undefined) checkExportPath(path.resolve(io.cwd, options.exportPublicKey));
        const recordsPath = options.records !== false ? path.resolve(io.cwd, options.records ?? DEFAULT_RECORDS_FILE) : undefined;
        const registryOptions = registryOptionsFrom(options, io.env);
        if (registryOptions.registry !== undefined && recordsPath === undefined) {
          throw new TfmError('USAGE', 'A registry run keeps its result in a record file too (for `registry sync` when the registry goes away): drop --no-records.');
        }
        // Every file the run will read or write, checked before the probe opens (cli/options.ts).
        checkRunFiles({
          outputs: [
            ...(recordsPath !== undefined ? [{ what: '--records', file: recordsPath }] : []),
            ...(options.exportPublicKey !== undefined ? [{ what: '--export-public-key', file: path.resolve(io.cwd, options.exportPublicKey) }] : []),
            ...(typeof sessionOptions.sim === 'string' ? [{ what: '--sim', file: path.resolve(io.cwd, sessionOptions.sim) }] : []),
          ],
          images: (
            [
              ['--image', imageStrategy.image],
              ['--net-image', imageStrategy.netImage],
              ['--app', imageStrategy.app],
            ] as const
          ).flatMap(([what, file]) => (typeof file === 'string' ? [{ what, file }] : [])),
        });
        let stationKey: ReturnType<typeof openStationKey> | undefined;
        if (recordsPath !== undefined) {
          stationKey = openStationKey(options.stationKey, io, (text) => out.note(text));
          // Opened before the probe: a record file that cannot be written, or that is not a
          // record chain, stops the run untouched.
          records = await RecordWriter.open(recordsPath, {
            signer: stationKey,
            onRepair: (info) => out.note(`record file: cut off ${info.removedBytes} bytes of an interrupted append`),
          });
        }
        recorder = new AttemptRecorder(records, {
          // The simulator's serial without loading the simulator (it is loaded only for --sim).
          // eslint-disable-next-line @typescript-eslint/no-var-requires
          probeSerial: probeSerial ?? (require('../../sim') as typeof import('../../sim')).DEFAULT_SIM_SERIAL,
          backend: simulatedRequest ? 'sim' : (sessionOptions.backend ?? 'auto'),
          simulated: simulatedRequest,
          strategy: imageStrategy.strategy ?? 'host',
        });
        if (registryOptions.registry !== undefined && options.dryRun !== true) {
          // Opened before the probe; it is first asked at the reservation, before the first write.
          registry = new PgRegistry(registryOptions.registry);
          const identity = stationIdentity({ keyId: stationKey?.keyId, publicKeyPem: stationKey?.publicKeyPem, toolVersion: recorder.facts.tool.version });
          await registry.registerStation(identity).catch(() => undefined);
          registryAttempt = new RegistryAttempt({ registry, lot: registryOptions.lot!, station: identity.stationId }, recorder);
        }
        const inRegistry = registryAttempt;
        // The lock (probe, or --sim FILE) is taken before the probe is opened, inside openSession.
        opened = await openSession(sessionOptions, { purpose: 'provision', env: io.env });
        Object.assign(recorder.facts, { probeSerial: opened.serialNumber, backend: opened.backend, simulated: opened.simulated });
        const session = opened;
        const attempt = recorder;
        const stdout = io.stdout as NodeJS.WritableStream & ProgressStream;
        if (!out.json && stdout.isTTY === true) progress = new LiveProgress(stdout, session.description);
        const live = progress;
        result = await provision(session.session, {
          ...imageStrategy,
          chip: sessionOptions.chip,
          random: options.seed !== undefined ? seededRandom(options.seed) : undefined,
          identityKey: options.skipIdentityKey ? 'skip' : 'generate',
          identityWrapper,
          allowModelWrapper: options.allowModelWrapper === true,
          allowEraseProtected: options.allowEraseProtected === true,
          implementationId,
          tfmVersion,
          dryRun: options.dryRun === true,
          signal: shutdown.signal,
          bootModel: session.bootModel,
          onEvent: (event) => {
            attempt.observe(event);
            if (out.json) out.event(event);
            else if (live) live.onEvent(event);
            else humanEvent(out, event);
          },
          beforeIrreversible: async (context) => {
            const asks = !session.simulated && options.yes !== true;
            if (asks) live?.pause();
            try {
              await confirmIrreversible(io, {
                // The chip as people know it (nRF5340), not its machine name (nrf5340).
                action: `provision ${getTarget(context.chip).displayName} ${context.deviceId} (lifecycle, keys${context.plan.some((w) => w.step === 'networkCore') ? ', network-core debug lock' : ''}: irreversible until an erase-all)`,
                serialNumbers: [session.serialNumber],
                yes: options.yes === true,
                simulated: session.simulated,
                signal: shutdown.signal,
              });
            } finally {
              if (asks) live?.resume();
            }
            // Durable before the first irreversible write; if it cannot be written, nothing is.
            // With a registry, its reservation comes first and its begin after the intent.
            if (inRegistry !== undefined) await inRegistry.beforeIrreversible(context, () => attempt.intent(context));
            else await attempt.intent(context);
          },
        });
        progress?.finish(result.outcome, result.ok ? undefined : result.errorCode);
        progress = undefined;
        // Closed (and the state file saved) before the result is recorded: a save that fails is
        // part of the result, not a FILE_ERROR after a "verified" record.
        result = await closeInto(opened, result);
        const written = await recordResult(out, () => attempt.result(result!));
        await completeInRegistry(out, inRegistry, written ?? attempt.resultInput(result));
        if (result.ok && result.outcome !== 'dryRun' && options.exportPublicKey !== undefined && result.identityPublicKey) {
          const file = path.resolve(io.cwd, options.exportPublicKey);
          try {
            writeFileAtomic(file, result.identityPublicKey.pem, 'the public key file');
          } catch (error) {
            throw new TfmError('FILE_ERROR', `Provisioned, but the public key could not be written to ${file}: ${(error as Error).message}`, { cause: error });
          }
          out.note(`identity public key written to ${file}`);
        }
      } catch (error) {
        const tfm = asTfmError(error);
        progress?.finish(undefined, tfm.code);
        if (result) commandError = tfm;
        else {
          // The attempt ended before provision() resolved (record file, probe, lock): recorded too.
          if (recorder) {
            const written = await recordResult(out, () => recorder!.failure(tfm));
            await completeInRegistry(out, registryAttempt, written ?? recorder.failureInput(tfm));
          }
          // No probe opened means no probe operation; once opened, the count died with the run.
          out.result({ command: 'provision', ok: false, outcome: tfm.category === 'refused' || tfm.category === 'usage' ? 'refused' : 'failed', errorCode: tfm.code, error: tfm.toJSON(), afterWrite: false, operations: opened === undefined ? 0 : null, records: records?.path ?? null });
        }
        if (!result) throw tfm;
      } finally {
        try {
          await opened?.close();
        } finally {
          await records?.close();
          await registry?.close();
        }
      }
      if (!out.json && opened) printSummary(out, result, opened, records?.path);
      const quota = registryAttempt?.quota;
      if (!out.json && quota !== undefined) out.line(`  quota left     ${quota.left} of ${quota.quota} in lot ${registryOptionsFrom(options, io.env).lot} (${quota.used} used, ${quota.reserved} reserved)`);
      const failure = commandError !== undefined ? { ok: false, errorCode: commandError.code, error: commandError.toJSON() } : {};
      out.result({ ...resultLine(result), ...failure, records: records?.path ?? null, ...(quota !== undefined ? { quota } : {}) });
      if (commandError !== undefined) throw errorOf({ error: commandError.toJSON() as TfmErrorJson, afterWrite: result.afterWrite });
      if (!result.ok) throw errorOf(result);
    });
}

/**
 * Closes the session (a simulator state file is saved then). If that fails after the run wrote to
 * the device, the result says so: the device state may not be what the records will claim.
 */
async function closeInto(opened: OpenedSession, result: ProvisionResult): Promise<ProvisionResult> {
  try {
    await opened.close();
    return result;
  } catch (error) {
    const tfm = asTfmError(error);
    if (!result.afterWrite) {
      // Nothing was written: the device (or the state file, which was not saved) is as it was.
      const { identityPublicKey: _key, instanceId: _id, instanceIdFormula: _formula, ...rest } = result as ProvisionResultFields;
      return { ...(rest as Omit<RefusedResult, 'outcome' | 'ok' | 'errorCode' | 'error' | 'recovery'>), ok: false, outcome: 'refused', afterWrite: false, recovery: 'rerun', errorCode: tfm.code, error: tfm.toJSON() as TfmErrorJson };
    }
    // Written, and then the session could not be closed (a state file not saved, a probe lost at the
    // end): the device was not read again; a re-run reads what it holds and finishes or re-verifies it.
    tfm.afterWrite = true;
    // present/missing of a verified run are the preflight's: not what the device holds now.
    const { present: _present, missing: _missing, ...rest } = result;
    const failed: FailedAfterWriteResult = {
      ...(result.ok ? rest : result),
      ok: false,
      outcome: 'failed',
      componentsFrom: result.ok ? 'unreadable' : result.componentsFrom,
      recovery: result.ok ? 'rerun' : result.recovery,
      errorCode: tfm.code,
      error: tfm.toJSON() as TfmErrorJson,
    };
    return failed;
  }
}

/** Appends a result record; a failure to append is a warning (the device outcome stands). */
async function recordResult(out: CommandOutput, append: () => Promise<ResultRecord | undefined>): Promise<ResultRecord | undefined> {
  try {
    return await append();
  } catch (error) {
    out.warn(`result record not written: ${(error as Error).message}`, 'RECORD_NOT_WRITTEN');
    return undefined;
  }
}

/** Hands the result to the registry; one it did not take is a warning (it waits in the records for `registry sync`). */
async function completeInRegistry(out: CommandOutput, attempt: RegistryAttempt | undefined, result: ResultInput | ResultRecord): Promise<void> {
  if (attempt === undefined) return;
  const warning = await attempt.complete(result);
  if (warning !== undefined && (attempt.reserved || result.wroteDevice)) out.warn(warning, 'REGISTRY_DEFERRED');
}
