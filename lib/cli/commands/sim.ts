/**
 * `tfm-provision sim create|show|dump|boot`: simulated devices kept in state files, so CLI runs
 * (provision --sim-state FILE, verify, ...) can be chained on one simulated chip.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { TfmError } from '../../errors';
import { createPresetDevice, isSimPreset, SIM_PRESETS, type SimPreset } from '../../sim/presets';
import { SimulatedDevice } from '../../sim/device';
import { jsonLine, streamLine } from '../output';
import type { CliIo } from '../io';

const CLI_CHIPS = ['nrf5340', 'nrf9160', 'nrf9161', 'nrf9151'] as const;
type CliChip = (typeof CLI_CHIPS)[number];

function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0').toUpperCase()}`;
}

function presetHelp(): string {
  const width = Math.max(...Object.keys(SIM_PRESETS).map((k) => k.length));
  return Object.entries(SIM_PRESETS)
    .map(([name, text]) => `  ${name.padEnd(width)}  ${text}`)
    .join('\n');
}

function describe(device: SimulatedDevice): string {
  const dump = device.dump();
  const lines = [
    `${device.target.displayName}, device ID ${device.deviceId}`,
    `lifecycle        ${dump.lifecycle} (halfwords provisioning ${hex16(dump.lifecycleWords.provisioning)}, secure ${hex16(dump.lifecycleWords.secure)}, decommissioned ${hex16(dump.lifecycleWords.decommissioned)})`,
    `debug access     application ${device.isDebugOpen('application') ? 'open' : 'LOCKED'}${device.target.network ? `, network ${device.networkForcedOff ? 'forced off' : device.isDebugOpen('network') ? 'open' : 'LOCKED'}` : ''}`,
    `implementation   ${dump.implementationId}`,
    `KMU slots        ${dump.kmuSlots.length === 0 ? 'all empty' : ''}`,
    ...dump.kmuSlots.map((s) => `  slot ${String(s.index).padStart(3)}  DEST ${hex32(s.dest)}  PERM ${hex32(s.perm)}`),
    `virtual time     ${(device.virtualTimeUs / 1000).toFixed(3)} ms`,
  ];
  return lines.join('\n') + '\n';
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0').toUpperCase()}`;
}

export function register(program: Command, io: CliIo): void {
  const path = (file: string): string => resolve(io.cwd, file);
  const sim = program
    .command('sim')
    .description('Simulated nRF5340 / nRF91 devices in state files (for trying the tool and for CI without hardware).')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  tfm-provision sim create dev.json --chip nrf5340\n' +
        '  tfm-provision sim create dev.json --chip nrf9160 --state provisioned --device-id 0123456789abcdef\n' +
        '  tfm-provision sim show dev.json\n' +
        '  tfm-provision sim dump dev.json --out dev.hex --with-flash\n' +
        '  tfm-provision sim boot dev.json --json\n',
    );

  sim
    .command('create')
    .description('Create a simulated device and save it to a state file.')
    .argument('<file>', 'state file to write (JSON)')
    .addOption(new Option('--chip <chip>', 'chip to simulate').choices([...CLI_CHIPS]).makeOptionMandatory())
    .option('--device-id <hex>', 'FICR DEVICEID as 16 hex digits (DEVICEID[0] then [1], little-endian bytes); random if omitted')
    .option('--state <state>', 'starting state (see below)', 'assembly')
    .option('--force', 'overwrite an existing state file')
    .option('--json', 'print one {"type":"result"} line')
    .addHelpText('after', `\nStates:\n${presetHelp()}\n`)
    .action((file: string, options: { chip: CliChip; deviceId?: string; state: string; force?: boolean; json?: boolean }) => {
      if (!isSimPreset(options.state)) {
        throw new TfmError('USAGE', `Unknown state "${options.state}". Use one of: ${Object.keys(SIM_PRESETS).join(', ')}.`);
      }
      if (options.deviceId !== undefined && !/^(0x)?[0-9a-fA-F]{16}$/u.test(options.deviceId.trim())) {
        throw new TfmError('USAGE', `--device-id must be 16 hex digits (8 bytes), got "${options.deviceId}".`);
      }
      const target = path(file);
      const device = createPresetDevice({ chip: options.chip, preset: options.state as SimPreset, deviceId: options.deviceId?.trim() });
      device.save(target, { overwrite: options.force === true });
      if (options.json === true) io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'sim create', ok: true, errorCode: null, file, chip: device.chip, deviceId: device.deviceId, state: options.state, lifecycle: device.lifecycle })));
      else io.stdout.write(`Created a simulated ${device.target.displayName} (device ID ${device.deviceId}) in state "${options.state}": ${file}\n`);
    });

  sim
    .command('show')
    .description('Print what a simulated device holds: lifecycle, debug locks, KMU slots.')
    .argument('<file>', 'state file')
    .option('--json', 'print the chip-off summary as one {"type":"result"} line')
    .action((file: string, options: { json?: boolean }) => {
      const device = SimulatedDevice.load(path(file));
      if (options.json === true) {
        const dump = device.dump();
        io.stdout.write(
          jsonLine(streamLine({
            type: 'result',
            command: 'sim show',
            ok: true,
            errorCode: null,
            chip: dump.chip,
            deviceId: dump.deviceId,
            lifecycle: dump.lifecycle,
            lifecycleWords: dump.lifecycleWords,
            implementationId: dump.implementationId,
            debugOpen: Object.fromEntries(device.coreList().map((c) => [c.name, c.debugOpen])),
            networkForcedOff: device.target.network ? device.networkForcedOff : undefined,
            // DEST and PERM only: key values stay in the state file.
            kmuSlots: dump.kmuSlots.map((s) => ({ index: s.index, dest: s.dest, perm: s.perm })),
          })),
        );
        return;
      }
      io.stdout.write(describe(device));
    });

  sim
    .command('dump')
    .description('Write FICR and UICR of every core (and flash) as Intel HEX at the real addresses: a chip-off view, including words a probe cannot read (KMU keys).')
    .argument('<file>', 'state file')
    .requiredOption('--out <hex>', 'Intel HEX file to write')
    .option('--with-flash', 'include the non-erased flash pages')
    .option('--json', 'print one {"type":"result"} line')
    .action((file: string, options: { out: string; withFlash?: boolean; json?: boolean }) => {
      const device = SimulatedDevice.load(path(file));
      const hex = device.dumpHex({ withFlash: options.withFlash === true });
      try {
        writeFileSync(path(options.out), hex);
      } catch (error) {
        throw new TfmError('FILE_ERROR', `Cannot write ${options.out}: ${(error as Error).message}`, { cause: error });
      }
      const records = hex.split('\n').filter(Boolean).length;
      if (options.json === true) io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'sim dump', ok: true, errorCode: null, out: options.out, records })));
      else io.stdout.write(`Wrote ${options.out} (${records} records).\n`);
    });

  sim
    .command('boot')
    .description(
      "Run TF-M's first boot (CONFIG_TFM_NRF_PROVISIONING) on the simulated device and save the result: PROVISIONING -> SECURED with debug locked, then report the identity public key and the attestation instance ID.",
    )
    .argument('<file>', 'state file (updated in place)')
    .option('--json', 'print one {"type":"result"} line: ok, lifecycle, identityPublicKey, instanceId, errorCode, message')
    .action((file: string, options: { json?: boolean }) => {
      const target = path(file);
      const device = SimulatedDevice.load(target);
      const result = device.bootTfm();
      device.save(target, { overwrite: true });
      const error = result.ok ? undefined : new TfmError(result.errorCode ?? 'TFM_PROVISIONING_FAILED', `TF-M first boot failed: ${result.message}`);
      if (options.json === true) {
        io.stdout.write(
          jsonLine(streamLine({
            type: 'result',
            command: 'sim boot',
            ok: result.ok,
            lifecycle: result.lifecycle,
            identityPublicKey: result.identityPublicKey ?? null,
            instanceId: result.instanceId ?? null,
            errorCode: error?.code ?? null,
            ...(error !== undefined ? { error: error.toJSON() } : {}),
            message: result.message,
          })),
        );
      } else if (result.ok) {
        io.stdout.write(
          `TF-M booted: lifecycle ${result.lifecycle}\nidentity public key ${result.identityPublicKey}\ninstance ID         ${result.instanceId}\n`,
        );
      }
      if (error !== undefined) throw error;
    });
}
