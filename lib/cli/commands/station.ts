/**
 * `tfm-provision station`: provision the devices on many probes at once, with a live table, a
 * summary and a record file; `--watch` keeps going as devices are swapped on the fixtures.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError, asTfmError } from '../../errors';
import type { ProbeBinding } from '../../probe/types';
import type { BootModel } from '../../provision/types';
import { seededRandom } from '../../random';
import {
  type DeviceOutcome,
  type StationEvent,
  type StationSummary,
  parseSerialList,
  runStation,
  selectProbes,
  stationError,
} from '../../station';
import { createNativeBinding, isSimulatedBinding, parseBackend, parseCount, parseSeconds } from '../../station/bindings';
import { createSimFleet, simFleetStateFiles } from '../../station/sim-fleet';
import { resolvedPath } from '../../files';
import { getTarget, type ChipName } from '../../targets';
import { confirmIrreversible } from '../confirm';
import { Shutdown } from '../shutdown';
import { simStopHook } from '../sim-stop';
import { createOutput, formatFields, withResultLine, type CommandOutput } from '../output';
import type { CliIo } from '../io';
import { ProgressRenderer, formatDuration, type RowStatus } from '../progress';
import {
  DEFAULT_RECORDS_FILE,
  LOT_OPTION_HELP,
  REGISTRY_OPTION_HELP,
  STATION_KEY_OPTION_HELP,
  checkRunFiles,
  displayName,
  loadIdentityWrapper,
  openStationKey,
  parseImplementationId,
  registryOptionsFrom,
} from '../options';
import { redactUrl } from '../../registry/url';
import { snrFrom } from '../session';
import { createSimFileFleet } from '../../station/sim-file';
import { checkAppendable } from '../../records';
import { commandHelp } from '../help';

interface StationCommandOptions {
  snr?: string;
  serialNumber?: string;
  sim?: string;
  all?: boolean;
  simCount?: string;
  simStateDir?: string;
  simLatency?: string;
  parallel?: string;
  /** A path, false for --no-records, undefined for the default file. */
  records?: string | false;
  stationKey?: string;
  json?: boolean;
  watch?: boolean;
  maxDevices?: string;
  duration?: string;
  pollMs?: string;
  chip?: string;
  backend?: string;
  library?: string;
  implementationId?: string;
  skipIdentityKey?: boolean;
  identityWrapper?: string;
  allowModelWrapper?: boolean;
  allowEraseProtected?: boolean;
  seed?: string;
  yes?: boolean;
  registry?: string;
  lot?: string;
}

const ROW_STATUS: Record<DeviceOutcome['outcome'], RowStatus> = {
  provisioned: 'passed',
  dryRun: 'passed',
  alreadyProvisioned: 'already',
  refused: 'refused',
  failed: 'failed',
  interrupted: 'interrupted',
};

/** JSON Lines for the station's events: provision events are passed through with the probe added. */
function jsonEvent(event: StationEvent): ({ type: string } & Record<string, unknown>) | undefined {
  switch (event.type) {
    case 'provision':
      return { ...event.event, probe: event.probe, attempt: event.attempt };
    case 'deviceEnd':
      return { type: 'device', probe: event.device.probeSerial, ...event.device };
    case 'stationStart':
      return { type: 'station', probes: event.probes, parallel: event.parallel, watch: event.watch, records: event.records ?? null };
    case 'notice':
      return { type: 'warning', ...(event.probe !== undefined ? { probe: event.probe } : {}), ...(event.code !== undefined ? { code: event.code } : {}), message: event.message };
    default:
      return { ...event };
  }
}

function summaryFields(summary: StationSummary): Array<[string, string | undefined]> {
  return [
    ['passed', String(summary.counts.passed)],
    ['already provisioned', String(summary.counts.alreadyProvisioned)],
    ['refused', String(summary.counts.refused)],
    ['failed', String(summary.counts.failed)],
    ['not started (stopped)', summary.counts.interrupted > 0 ? String(summary.counts.interrupted) : undefined],
    ['devices per minute', summary.devicesPerMinute.toFixed(1)],
    ['time', formatDuration(summary.durationMs)],
    ['records', summary.records],
    ['quota left', summary.quota !== undefined ? `${summary.quota.left} of ${summary.quota.quota} in lot ${summary.quota.lot} (${summary.quota.used} used, ${summary.quota.reserved} reserved)` : undefined],
    ['registry', summary.registryDeferred ? `${summary.registryDeferred} result(s) not taken: replay them with \`tfm-provision registry sync ${summary.records ?? 'RECORDS'}\`` : undefined],
  ];
}

function printSummary(out: CommandOutput, summary: StationSummary): void {
  out.line();
  out.line(`Station ${summary.interrupted ? 'stopped' : 'done'}: ${summary.devices.filter((d) => d.started).length} device(s)`);
  out.line(formatFields(summaryFields(summary)).join('\n'));
  const problems = summary.devices.filter((d) => d.outcome === 'failed' || d.outcome === 'refused');
  if (problems.length > 0) {
    out.line('  problems:');
    for (const d of problems) {
      const where = d.afterWrite ? ' AFTER WRITING (device may be partly provisioned)' : ' (nothing written)';
      out.line(`    probe ${d.probeSerial}${d.deviceId ? ` ${d.deviceId}` : ''}: ${d.outcome} ${d.errorCode ?? ''}${where}${d.error ? ` - ${d.error}` : ''}`);
    }
  }
  for (const e of summary.recordErrors) out.warn(`record file: ${e}`);
}

function parseChip(value: string | undefined): ChipName | undefined {
  if (value === undefined) return undefined;
  try {
    return getTarget(value).name;
  } catch (error) {
    throw new TfmError('USAGE', (error as Error).message);
  }
}

export function register(program: Command, io: CliIo): void {
  program
    .command('station')
    .description(
      'Provision the devices on several probes in parallel (one worker per probe), with a live table, ' +
        'a summary and an audit record per attempt. With --watch, keep provisioning devices as they are ' +
        'placed on the fixtures. Ctrl-C stops starting new devices and lets writes in flight finish.',
    )
    .option('--snr <list>', 'probe serial numbers, comma separated (A,B,C)')
    .option('--serial-number <list>', 'the same as --snr (nrfutil\'s name for it)')
    .option('--all', 'every connected probe')
    .option('--sim <state-file>', 'provision the one simulated device in state-file (it must exist; create it with `sim create`)')
    .option('--sim-count <n>', 'use N simulated probes, each with a fresh device (no hardware); all of them unless --snr picks some')
    .option('--sim-state-dir <dir>', 'with --sim-count: keep each simulated device in <dir>/<serial>.json (saved after every write)')
    .option('--sim-latency <ms>', 'with --sim-count: real-time delay per probe operation, in milliseconds')
    .option('--parallel <n>', 'devices provisioned at the same time (default: one per probe)')
    .option('--records <file>', `record file (JSON Lines, appended; default ./${DEFAULT_RECORDS_FILE})`)
    .option('--no-records', 'write no record file (as for provision)')
    .option('--station-key <file>', STATION_KEY_OPTION_HELP)
    .option('--json', 'JSON Lines on stdout: events, then one {"type":"result"} line')
    .option('--watch', 'keep running: provision each new device that appears on a probe, then wait for its removal')
    .option('--max-devices <n>', 'with --watch: stop after this many devices')
    .option('--duration <seconds>', 'with --watch: stop waiting for devices after this long')
    .option('--poll-ms <ms>', 'with --watch: how often an idle probe looks for a device (default 500)')
    .option('--chip <chip>', 'expected chip on every probe (refused otherwise); with --sim-count, the chip simulated')
    .option('--backend <backend>', 'probe library: nrfjprog, jlink or auto', 'auto')
    .option('--library <path>', 'path of the vendor library (nrfjprog DLL or J-Link DLL)')
    .option('--implementation-id <hex>', "32-byte implementation ID (default: the sample's AA..BB..CC..DD)")
    .option('--skip-identity-key', 'provision everything but the identity key')
    .option('--identity-wrapper <module>', 'JavaScript module exporting an IdentityKeyWrapper (the real CryptoCell format)')
    .option('--allow-model-wrapper', 'on real probes, accept the built-in wrapping model (TF-M on silicon cannot decrypt it)')
    .option('--allow-erase-protected', 'provision devices with UICR.ERASEPROTECT set (an interrupted run could never be recovered)')
    .option('--seed <seed>', 'deterministic keys per device from this seed (simulated devices only)')
    .option('-y, --yes', 'do not ask for typed confirmation before provisioning real devices')
    .option('--registry <url>', REGISTRY_OPTION_HELP)
    .option('--lot <name>', LOT_OPTION_HELP)
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision station --sim-count 16                # 16 simulated probes, no hardware',
        'tfm-provision station --all --records line1.jsonl',
        'tfm-provision station --snr 1050012345,1050012346 --watch --max-devices 100',
        'tfm-provision station --all --registry postgresql://line1@db/factory --lot L2026-12',
      ]),
    )
    .action(async (options: StationCommandOptions) => {
      const out = createOutput(io, { json: options.json });
      // SIGINT, SIGTERM, SIGHUP and a closed output all stop the station the same way (cli/shutdown).
      const shutdown = io.shutdown ?? new Shutdown();
      shutdown.arm();
      await withResultLine(out, 'station', async (done) => {
        const snr = snrFrom(options);
        if (snr !== undefined && options.all === true) throw new TfmError('USAGE', 'Give either --snr or --all, not both.');
        if (options.sim !== undefined && (options.simCount !== undefined || options.simStateDir !== undefined)) {
          throw new TfmError('USAGE', 'Give either --sim FILE (one simulated device) or --sim-count N (a fleet), not both.');
        }
        const simulatedFleet = options.simCount !== undefined || options.sim !== undefined;
        if (snr === undefined && options.all !== true && !simulatedFleet) {
          throw new TfmError('PROBE_SELECTION_REQUIRED', 'Say which probes: --snr A,B,C or --all (or --sim-count N, or --sim FILE, for simulated devices). Nothing was touched.');
        }
        if (options.watch !== true && (options.maxDevices !== undefined || options.duration !== undefined)) {
          throw new TfmError('USAGE', '--max-devices and --duration bound --watch; add --watch or drop them.');
        }
        if (options.simCount === undefined && (options.simStateDir !== undefined || options.simLatency !== undefined)) {
          throw new TfmError('USAGE', '--sim-state-dir and --sim-latency go with --sim-count.');
        }
        const registry = registryOptionsFrom(options, io.env);
        const parallel = parseCount(options.parallel, '--parallel');
        const maxDevices = parseCount(options.maxDevices, '--max-devices');
        const durationMs = parseSeconds(options.duration, '--duration');
        const pollMs = parseCount(options.pollMs, '--poll-ms');
        const simLatency = parseCount(options.simLatency, '--sim-latency', 0);
        const chip = parseChip(options.chip);
        const backend = parseBackend(options.backend);
        const implementationId = options.implementationId !== undefined ? parseImplementationId(options.implementationId) : undefined;
        const identityWrapper = options.identityWrapper !== undefined ? loadIdentityWrapper(options.identityWrapper, io.cwd) : undefined;
        const recordsFile = options.records === false ? undefined : path.resolve(io.cwd, options.records ?? DEFAULT_RECORDS_FILE);
        const stateDir = options.simCount !== undefined && options.simStateDir !== undefined ? path.resolve(io.cwd, options.simStateDir) : undefined;
        // The simulated devices' state files are outputs too (saved after every write): none may be the
        // record file, nor two of them one file (a symlink in the state directory), checked before a
        // fleet is made (it saves fresh devices) or a probe opened.
        const stateFiles =
          options.sim !== undefined
            ? [{ what: '--sim', file: path.resolve(io.cwd, options.sim) }]
            : stateDir !== undefined
              ? simFleetStateFiles(stateDir, parseCount(options.simCount, '--sim-count')!).map((f) => ({ what: `--sim-state-dir device ${f.serialNumber}`, file: f.file }))
              : [];
        if (recordsFile !== undefined && stateDir !== undefined && resolvedPath(recordsFile) === resolvedPath(stateDir)) {
          throw new TfmError('FILE_CONFLICT', `--records ${recordsFile} is the --sim-state-dir directory; name a record file outside the device states. Nothing was done to any device.`, {
            details: { first: '--records', second: '--sim-state-dir', path: resolvedPath(stateDir) },
          });
        }
        checkRunFiles({ outputs: [...(recordsFile !== undefined ? [{ what: '--records', file: recordsFile }] : []), ...stateFiles] });
        // The record file is checked (a record chain, a regular file) and the key loaded before any probe opens.
        let stationKey;
        if (registry.registry !== undefined && recordsFile === undefined) {
          throw new TfmError('USAGE', 'A registry run keeps its results in a record file too (for `registry sync` when the registry goes away): drop --no-records.');
        }
        if (recordsFile !== undefined) {
          await checkAppendable(recordsFile);
          stationKey = openStationKey(options.stationKey, io, (text) => out.note(text));
        }

        let binding: ProbeBinding;
        let bootModelFor: ((serial: number) => BootModel | undefined) | undefined;
        // Real probes are always locked; simulated ones only when other processes can reach them.
        let lock: { lockProbes: boolean; lockScope?: string } = { lockProbes: true };
        if (options.sim !== undefined) {
          const fleet = createSimFileFleet(options.sim, io.cwd);
          binding = fleet.binding;
          bootModelFor = (serial) => fleet.bootModel(serial);
          lock = { lockProbes: false };
        } else if (options.simCount !== undefined) {
          const fleet = createSimFleet({
            count: parseCount(options.simCount, '--sim-count')!,
            chip,
            stateDir,
            latencyMs: simLatency,
            // Each demo its own batch of devices; repeatable with --seed, kept with a state directory.
            // Fresh devices of a state directory take IDs from its path, so two directories (two
            // simulated stations sharing one registry) never hold the same device ID.
            deviceIds: options.seed !== undefined ? { seed: options.seed } : stateDir !== undefined ? { seed: `state-dir:${stateDir}` } : 'random',
            onOperation: simStopHook(io.env),
          });
          binding = fleet.binding;
          bootModelFor = (serial) => fleet.bootModel(serial);
          lock = { lockProbes: fleet.lockScope !== undefined, lockScope: fleet.lockScope };
        } else {
          binding = createNativeBinding({ backend, library: options.library });
        }
        // Simulated probes the command created are all selected unless --snr picks some of them.
        const wanted = snr !== undefined ? parseSerialList(snr) : undefined;
        const all = options.all === true || (simulatedFleet && wanted === undefined);
        const serialNumbers = (await selectProbes(binding, { serialNumbers: wanted, all: all ? true : undefined })).map((p) => p.serialNumber);
        const simulated = await isSimulatedBinding(binding);
        if (options.seed !== undefined && !simulated) {
          throw new TfmError('SEEDED_RANDOM_REFUSED', '--seed is for simulated devices only; real devices get keys from the OS CSPRNG.');
        }
        await confirmIrreversible(io, {
          action: `provision${options.watch === true ? ' (watch mode: every device placed on them)' : ''}`,
          serialNumbers,
          yes: options.yes === true,
          simulated,
          signal: shutdown.signal,
        });

        const renderer = out.json
          ? undefined
          : new ProgressRenderer(io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, {
              layout: 'table',
              plainSteps: false,
              title: `Station: ${serialNumbers.length} probe(s) (${binding.backend}${simulated ? ', simulated' : ''}), ${recordsFile !== undefined ? `records ${recordsFile}` : 'no records'}${registry.registry !== undefined ? `, registry ${redactUrl(registry.registry)} lot ${registry.lot}` : ''}`,
            });
        const rowColumns: Record<string, string> = registry.registry !== undefined ? { device: '', chip: '', 'quota left': '' } : { device: '', chip: '' };
        const onEvent = (event: StationEvent): void => {
          const line = jsonEvent(event);
          if (out.json) {
            if (line !== undefined) out.event(line);
            return;
          }
          if (renderer === undefined) return;
          const key = 'probe' in event && event.probe !== undefined ? String(event.probe) : '';
          switch (event.type) {
            case 'stationStart':
              for (const s of event.probes) renderer.addRow(String(s), String(s), rowColumns);
              break;
            case 'deviceStart':
              renderer.addRow(key, key, rowColumns);
              renderer.rowRunning(key, 'connecting');
              break;
            case 'deviceIdentified':
              renderer.setColumns(key, { device: event.deviceId, chip: displayName(event.chip) });
              renderer.rowRunning(key);
              break;
            case 'provision':
              if (event.event.type === 'stepBegin') renderer.stepBegin(key, event.event.step);
              else if (event.event.type === 'stepEnd') renderer.stepEnd(key, event.event.step, { ok: event.event.ok, skipped: event.event.skipped, durationMs: event.event.durationMs });
              break;
            case 'quota':
              if (event.probe !== undefined) renderer.setColumns(key, { 'quota left': `${event.left} left` });
              else renderer.log(`lot ${event.lot}: ${event.left} of ${event.quota} left`);
              break;
            case 'deviceEnd':
              renderer.rowDone(key, ROW_STATUS[event.device.outcome], event.device.ok ? undefined : (event.device.errorCode ?? undefined));
              break;
            case 'waitingForDevice':
              renderer.addRow(key, key, rowColumns);
              renderer.setColumns(key, { device: '(place a device)' });
              break;
            case 'waitingForRemoval':
              renderer.log(`probe ${key}: remove device ${event.deviceId}`);
              break;
            case 'stopping':
              if (event.reason === 'signal') renderer.log('Stopping: no new devices; finishing the writes in flight...');
              break;
            case 'notice':
              renderer.log(`warning: ${event.message}`);
              break;
            default:
              break;
          }
        };

        let summary: StationSummary;
        try {
          summary = await runStation({
            binding,
            serialNumbers,
            parallel,
            records: recordsFile ?? false,
            stationKey,
            env: io.env,
            ...lock,
            signal: shutdown.signal,
            watch: options.watch === true ? { maxDevices, durationMs, pollMs } : false,
            ...registry,
            provision: {
              chip,
              identityKey: options.skipIdentityKey === true ? 'skip' : 'generate',
              identityWrapper,
              allowModelWrapper: options.allowModelWrapper === true,
              allowEraseProtected: options.allowEraseProtected === true,
              implementationId,
            },
            randomFor: options.seed !== undefined ? (serial) => seededRandom(`${options.seed}:${serial}`) : undefined,
            deviceOptions: bootModelFor !== undefined ? (serial) => ({ bootModel: bootModelFor!(serial) }) : undefined,
            onEvent,
          });
        } finally {
          renderer?.stop();
        }
        if (!out.json) printSummary(out, summary);
        const error = stationError(summary);
        done();
        out.result({
          command: 'station',
          ok: error === undefined,
          interrupted: summary.interrupted,
          counts: summary.counts,
          devicesPerMinute: Number(summary.devicesPerMinute.toFixed(2)),
          durationMs: summary.durationMs,
          records: summary.records ?? null,
          ...(summary.quota !== undefined ? { quota: summary.quota, registryDeferred: summary.registryDeferred ?? 0 } : {}),
          errorCode: error?.code ?? null,
          ...(error !== undefined ? { error: error.toJSON() } : {}),
          devices: summary.devices,
        });
        if (error !== undefined) throw error;
      });
    });
}
