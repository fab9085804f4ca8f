/**
 * `tfm-provision list`: the connected probes and, where a device answers, its chip and device ID.
 * Read-only. A probe another process holds (probe lock) is reported as busy, not opened.
 */
import type { Command } from 'commander';
import { identifyChip } from '../../device/ficr';
import { asTfmError } from '../../errors';
import type { ProbeBinding, ProbeInfo } from '../../probe/types';
import { createOutput, formatTable, withResultLine } from '../output';
import { acquireProbeLock, type ProbeLock } from '../../station/probe-lock';
import type { CliIo } from '../io';
import { bindingFromCliOptions, displayName } from '../options';
import { commandHelp } from '../help';

export interface ListedProbe {
  serialNumber: number;
  product: string | null;
  firmware: string | null;
  /** Another process holds the probe: its PID. */
  busyPid: number | null;
  device: { chip: string; deviceId: string; variant: string | null } | null;
  /** Why no device was identified (no target, protected, unknown chip...). */
  errorCode: string | null;
  error: string | null;
}

/** Looks at every probe: lock (skip when busy), open, identify from FICR, close. */
export async function listProbes(binding: ProbeBinding, env: NodeJS.ProcessEnv, lock: { lockProbes: boolean; lockScope?: string } = { lockProbes: true }): Promise<ListedProbe[]> {
  const probes = await binding.list();
  // One probe at a time: listing is rare and a vendor library may not like many opens at once.
  const listed: ListedProbe[] = [];
  for (const probe of probes) listed.push(await listOne(binding, probe, env, lock));
  return listed;
}

async function listOne(binding: ProbeBinding, probe: ProbeInfo, env: NodeJS.ProcessEnv, lockChoice: { lockProbes: boolean; lockScope?: string }): Promise<ListedProbe> {
  const entry: ListedProbe = {
    serialNumber: probe.serialNumber,
    product: probe.product ?? null,
    firmware: probe.firmware ?? null,
    busyPid: null,
    device: null,
    errorCode: null,
    error: null,
  };
  let lock: ProbeLock | undefined;
  try {
    if (lockChoice.lockProbes) lock = await acquireProbeLock(probe.serialNumber, { backend: binding.backend, purpose: 'list', env, scope: lockChoice.lockScope });
  } catch (error) {
    const e = asTfmError(error);
    entry.errorCode = e.code;
    entry.error = e.message;
    if (e.code === 'PROBE_BUSY' && typeof e.details?.holderPid === 'number') entry.busyPid = e.details.holderPid;
    return entry;
  }
  try {
    const session = await binding.open(probe.serialNumber);
    try {
      const identity = await identifyChip(session);
      entry.device = { chip: identity.chip, deviceId: identity.deviceIdHex, variant: identity.variant ?? null };
    } finally {
      await session.close().catch(() => undefined);
    }
  } catch (error) {
    const e = asTfmError(error);
    entry.errorCode = e.code;
    entry.error = e.message;
  } finally {
    await lock?.release().catch(() => undefined);
  }
  return entry;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('list')
    .description('List connected probes with their serial numbers and, when a device answers, its chip and device ID.')
    .option('--json', 'JSON Lines: one {"type":"probe"} line per probe, then {"type":"result"}')
    .option('--backend <backend>', 'probe library: nrfjprog, jlink or auto', 'auto')
    .option('--library <path>', 'path of the vendor library (nrfjprog DLL or J-Link DLL)')
    .option('--sim <state-file>', 'list the one simulated device in state-file instead (it must exist)')
    .option('--sim-count <n>', 'list N simulated probes instead (no hardware)')
    .option('--sim-state-dir <dir>', 'with --sim-count: the simulated devices kept in <dir>/<serial>.json')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision list',
        'tfm-provision list --sim-count 2 --json',
      ]),
    )
    .action(async (options: { json?: boolean; backend?: string; library?: string; sim?: string; simCount?: string; simStateDir?: string }) => {
      const out = createOutput(io, { json: options.json });
      await withResultLine(out, 'list', async (done) => {
        const { binding, fleet } = bindingFromCliOptions(options, io.cwd);
        const probes = await listProbes(binding, io.env, fleet === undefined ? { lockProbes: true } : { lockProbes: fleet.lockScope !== undefined, lockScope: fleet.lockScope });
        for (const p of probes) out.event({ type: 'probe', ...p });
        if (probes.length === 0) out.line('No probes connected.');
        else {
          const rows = [['probe', 'chip', 'device ID', 'product', 'note']];
          for (const p of probes) {
            const note = p.busyPid !== null ? `busy: in use by process ${p.busyPid}` : p.device === null ? `no device (${p.errorCode ?? 'unknown'})` : '';
            rows.push([String(p.serialNumber), p.device ? displayName(p.device.chip) : '-', p.device?.deviceId ?? '-', p.product ?? '', note]);
          }
          out.line(formatTable(rows, '').join('\n'));
        }
        done();
        out.result({ command: 'list', ok: true, count: probes.length, backend: binding.backend });
      });
    });
}
