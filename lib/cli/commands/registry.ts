/**
 * `tfm-provision registry ...`: the device registry many stations share (docs/registry.md):
 * migrate, lots, lot create, status, export, import, sync, reap. Every subcommand takes
 * --registry URL (or $TFM_PROVISION_REGISTRY) and --json (JSON Lines, docs/json.md).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError } from '../../errors';
import { checkDistinctFiles, statRegularOrAbsent, writeFileAtomic } from '../../files';
import { instanceIdFormulaForTfm } from '../../keys/instance-id';
import { csvField, readStationPublicKey } from '../../records';
import { PgRegistry } from '../../registry/pg';
import { checkRecordFile, importRecords, syncRecords } from '../../registry/sync';
import { REGISTRY_ENV } from '../../registry/url';
import type { LotStatus, RegistryDevice } from '../../registry/types';
import { getTarget } from '../../targets';
import type { CliIo } from '../io';
import { createOutput, formatTable, withResultLine, type CommandOutput } from '../output';
import { parseImplementationId, registryUrlFrom } from '../options';

interface Common {
  registry?: string;
  json?: boolean;
}

const REGISTRY_HELP = `registry URL postgresql://user@host:port/database (default $${REGISTRY_ENV}; put the password in PGPASSWORD or ~/.pgpass, not in the URL)`;

export const EXPORT_COLUMNS = ['lot', 'chip', 'device_id', 'identity_public_key', 'instance_id', 'instance_id_formula', 'implementation_id', 'station', 'probe_serial', 'provisioned_at'] as const;

function registryUrl(options: Common, io: CliIo): string {
  const url = registryUrlFrom(options, io.env);
  if (url === undefined) throw new TfmError('USAGE', `Say which registry: --registry postgresql://user@host:port/database (or ${REGISTRY_ENV}).`);
  return url;
}

/** "90s", "30m", "12h", "2d" or plain seconds, to milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/u.exec(text.trim());
  if (m === null) throw new TfmError('USAGE', `${what} takes a duration such as 90s, 30m, 12h or 2d (got "${text}").`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function withRegistry(io: CliIo, command: string, options: Common, body: (registry: PgRegistry, out: CommandOutput, done: () => void) => Promise<void>): Promise<void> {
  const out = createOutput(io, { json: options.json });
  return withResultLine(out, command, async (done) => {
    const registry = new PgRegistry(registryUrl(options, io));
    try {
      await body(registry, out, done);
    } finally {
      await registry.close();
    }
  });
}

function common(command: Command): Command {
  return command.option('--registry <url>', REGISTRY_HELP).option('--json', 'JSON Lines on stdout (docs/json.md): one line per item, then one {"type":"result"} line');
}

function exportRow(d: RegistryDevice): Array<string | number> {
  return [d.lot, d.chip, d.deviceId, d.identityPublicKey ?? '', d.instanceId ?? '', d.instanceIdFormula ?? '', d.implementationId ?? '', d.station ?? '', d.probeSerial ?? '', d.completedAt ?? ''];
}

function statusLines(s: LotStatus): string[] {
  const lines = [`lot ${s.name} (${s.chip}): ${s.used} used, ${s.reserved} reserved, ${s.left} left of ${s.quota}${s.partial > 0 ? `; ${s.partial} partial (counted as used)` : ''}${s.failed > 0 ? `; ${s.failed} failed (released)` : ''}`];
  if (s.stations.length > 0) {
    lines.push(
      ...formatTable([
        ['station', 'provisioned', 'reserved', 'partial', 'failed'],
        ...s.stations.map((st) => [st.station === '' ? '(none)' : st.station.slice(0, 24), String(st.provisioned), String(st.reserved), String(st.partial), String(st.failed)]),
      ]),
    );
  }
  return lines;
}

export function register(program: Command, io: CliIo): void {
  const registry = program
    .command('registry')
    .description('The device registry many stations share (PostgreSQL): lots with a production quota, every device and attempt. See docs/registry.md.')
    .addHelpText(
      'after',
      `
A station with --registry URL --lot NAME reserves one unit of the lot's quota for each device before
the first write (QUOTA_EXHAUSTED, LOT_NOT_FOUND, DEVICE_ALREADY_REGISTERED, REGISTRY_UNAVAILABLE:
nothing is written), and completes it with the verified result. Set up once, as the database owner:

  tfm-provision registry migrate --registry postgresql://owner@db/factory
  psql: CREATE ROLE line1 LOGIN PASSWORD '...'; GRANT tfm_registry_station TO line1;
        CREATE ROLE planner LOGIN PASSWORD '...'; GRANT tfm_registry_admin TO planner;
  tfm-provision registry lot create L2026-12 --chip nrf5340 --quota 5000 --registry postgresql://planner@db/factory
  tfm-provision station --all --registry postgresql://line1@db/factory --lot L2026-12
`,
    );

  common(registry.command('migrate').description('Create or update the schema, roles and grants (idempotent; run as the database owner, with CREATEROLE).')).action(
    (options: Common) =>
      withRegistry(io, 'registry migrate', options, async (reg, out, done) => {
        const { applied, version } = await reg.migrate();
        for (const m of applied) {
          out.event({ type: 'migration', version: m.version, name: m.name } as { type: string });
          out.line(`applied migration ${m.version}: ${m.name}`);
        }
        if (applied.length === 0) out.line(`schema is current (version ${version}): nothing to do`);
        done();
        out.result({ command: 'registry migrate', ok: true, version, applied: applied.map((m) => m.version), errorCode: null });
      }),
  );

  common(registry.command('lots').description('List the lots with their chip and quota.')).action((options: Common) =>
    withRegistry(io, 'registry lots', options, async (reg, out, done) => {
      const lots = await reg.lots();
      for (const l of lots) out.event({ type: 'lot', ...l } as { type: string });
      if (lots.length === 0) out.line('no lots (create one with `registry lot create NAME --chip CHIP --quota N`)');
      else out.line(formatTable([['lot', 'chip', 'quota', 'created'], ...lots.map((l) => [l.name, l.chip, String(l.quota), l.created])], '').join('\n'));
      done();
      out.result({ command: 'registry lots', ok: true, lots: lots.length, errorCode: null });
    }),
  );

  const lot = registry.command('lot').description('Manage one lot.');
  common(
    lot
      .command('create')
      .description('Create a lot: the devices of one order, for one chip, capped at --quota devices.')
      .argument('<name>', 'lot name: letters, digits, . _ - (up to 64)')
      .requiredOption('--chip <chip>', 'the chip of its devices (nrf5340, nrf9160, nrf9161, nrf9151)')
      .requiredOption('--quota <n>', 'how many devices the lot may provision')
      .option('--implementation-id <hex>', 'the implementation ID its devices get (32 bytes, for the export)')
      .option('--tfm-version <version>', 'the TF-M its devices boot (2.1 or 2.2): the instance-ID formula of the export'),
  ).action((name: string, options: Common & { chip: string; quota: string; implementationId?: string; tfmVersion?: string }) =>
    withRegistry(io, 'registry lot create', options, async (reg, out, done) => {
      let chip: string;
      try {
        chip = getTarget(options.chip).name;
      } catch (error) {
        throw new TfmError('USAGE', (error as Error).message);
      }
      // A lot with no quota could never provision a device, and nothing raises a quota later: refuse 0.
      if (!/^[1-9]\d*$/u.test(options.quota) || Number(options.quota) > 2 ** 31 - 1) throw new TfmError('USAGE', `--quota takes a whole number of devices, at least 1 (got "${options.quota}").`);
      const implementationId = options.implementationId !== undefined ? Buffer.from(parseImplementationId(options.implementationId)).toString('hex') : undefined;
      let instanceIdFormula: '2.1' | '2.2' | undefined;
      if (options.tfmVersion !== undefined) {
        try {
          instanceIdFormula = instanceIdFormulaForTfm(options.tfmVersion);
        } catch {
          throw new TfmError('USAGE', `--tfm-version must be 2.1 or 2.2 (got "${options.tfmVersion}").`);
        }
      }
      const created = await reg.createLot({ name, chip, quota: Number(options.quota), implementationId, instanceIdFormula });
      out.line(`created lot ${created.name}: ${created.chip}, quota ${created.quota}`);
      done();
      out.result({ command: 'registry lot create', ok: true, lot: created, errorCode: null });
    }),
  );

  common(registry.command('status').description('Per lot: used, reserved and left of the quota, and the devices per station.').option('--lot <name>', 'only this lot')).action(
    (options: Common & { lot?: string }) =>
      withRegistry(io, 'registry status', options, async (reg, out, done) => {
        const lots = await reg.status(options.lot);
        for (const s of lots) {
          out.event({ type: 'lot', ...s } as { type: string });
          for (const l of statusLines(s)) out.line(l);
        }
        if (lots.length === 0) out.line('no lots');
        done();
        out.result({ command: 'registry status', ok: true, lots: lots.length, errorCode: null });
      }),
  );

  common(
    registry
      .command('export')
      .description(
        'Write every provisioned device for the device cloud: lot, chip, device ID, identity public key (uncompressed SEC1, hex), instance ID and its formula, implementation ID, station, probe serial, time. CSV (RFC 4180 with a header row) or JSON Lines ({"type":"device"} lines).',
      )
      .option('--csv', 'CSV (the default)')
      .option('--lot <name>', 'only this lot')
      .option('-o, --output <file>', 'write to this file (atomically) instead of stdout'),
  ).action((options: Common & { csv?: boolean; lot?: string; output?: string }) => {
    if (options.csv === true && options.json === true) throw new TfmError('USAGE', 'Give --csv or --json, not both.');
    return withRegistry(io, 'registry export', options, async (reg, out, done) => {
      const output = options.output !== undefined ? path.resolve(io.cwd, options.output) : undefined;
      if (output !== undefined) statRegularOrAbsent(output, '--output');
      if (options.lot !== undefined) await reg.quota(options.lot); // LOT_NOT_FOUND for a typo, not an empty export
      const devices = await reg.devices({ lot: options.lot, states: ['provisioned'] });
      if (out.json) {
        const text = devices.map((d) => JSON.stringify({ type: 'device', schema: 1, ...d })).join('\n');
        if (output !== undefined) writeFileAtomic(output, text === '' ? '' : `${text}\n`, 'the export');
        else for (const d of devices) out.event({ type: 'device', ...d } as { type: string });
      } else {
        const csv = [EXPORT_COLUMNS.join(','), ...devices.map((d) => exportRow(d).map(csvField).join(','))].join('\r\n') + '\r\n';
        if (output !== undefined) writeFileAtomic(output, csv, 'the export');
        else io.stdout.write(csv);
      }
      if (output !== undefined) out.note(`${devices.length} device(s) written to ${output}`);
      done();
      out.result({ command: 'registry export', ok: true, devices: devices.length, output: output ?? null, errorCode: null });
    });
  });

  const recordFileCommand = (name: 'import' | 'sync', description: string) =>
    common(
      registry
        .command(name)
        .description(description)
        .argument('<records>', 'record file (JSON Lines)')
        .option('--public-key <file>', "the station's public key (PEM, from `records init`); default: the key that station registered"),
    );

  recordFileCommand('import', 'Backfill the registry from existing records: each verified device with an identity key becomes a provisioned device of --lot (counted within its quota). Signed records are checked against the station\'s key; a file that does not verify is refused whole. Idempotent by attempt ID.')
    .requiredOption('--lot <name>', 'the lot the devices are counted in')
    .action((file: string, options: Common & { publicKey?: string; lot: string }) =>
      withRegistry(io, 'registry import', options, async (reg, out, done) => {
        const check = await checkRecords(reg, file, options.publicKey, out);
        await reg.quota(options.lot);
        const lines = await importRecords(reg, check, options.lot);
        const counts: Record<string, number> = {};
        for (const l of lines) {
          counts[l.status] = (counts[l.status] ?? 0) + 1;
          out.event({ type: 'import', ...l } as { type: string });
          if (l.status !== 'OK' && l.status !== 'ALREADY_IMPORTED') out.warn(`device ${l.deviceId ?? '?'} (attempt ${l.attempt}) not imported: ${l.status}`, l.status);
        }
        out.line(`${counts.OK ?? 0} device(s) imported into lot ${options.lot}, ${counts.ALREADY_IMPORTED ?? 0} already there, ${lines.length - (counts.OK ?? 0) - (counts.ALREADY_IMPORTED ?? 0)} refused (${check.authorship === 'verified' ? 'signatures verified' : 'unsigned records: authorship not checked'})`);
        const refused = lines.filter((l) => l.status !== 'OK' && l.status !== 'ALREADY_IMPORTED');
        const first = refused[0];
        const code = first === undefined ? undefined : first.status === 'QUOTA_EXHAUSTED' || first.status === 'LOT_NOT_FOUND' || first.status === 'CHIP_MISMATCH' ? first.status : 'DEVICE_ALREADY_REGISTERED';
        // The error the command exits with, also in the result line (docs/json.md: a failed result has
        // one, and its errorCode is a TfmError code: PUBLIC_KEY_ALREADY_REGISTERED is only an import status).
        const error = first === undefined ? undefined : new TfmError(code as 'QUOTA_EXHAUSTED', `${refused.length} device(s) were not imported (first: ${first.deviceId ?? '?'}: ${first.status}).`);
        done();
        out.result({ command: 'registry import', ok: refused.length === 0, imported: counts.OK ?? 0, already: counts.ALREADY_IMPORTED ?? 0, refused: refused.length, authorship: check.authorship, errorCode: error?.code ?? null, ...(error !== undefined ? { error: error.toJSON() } : {}) });
        if (error !== undefined) throw error;
      }),
    );

  recordFileCommand('sync', 'Replay into the registry the results it did not take while it was unreachable (the station kept them in its records). Idempotent by attempt ID: a second sync changes nothing.')
    .option('--lot <name>', 'the lot of attempts the registry never saw (refusals), for their attempt rows')
    .action((file: string, options: Common & { publicKey?: string; lot?: string }) =>
      withRegistry(io, 'registry sync', options, async (reg, out, done) => {
        const check = await checkRecords(reg, file, options.publicKey, out);
        const lines = await syncRecords(reg, check, options.lot);
        for (const l of lines) out.event({ type: 'replay', ...l } as { type: string });
        const replayed = lines.filter((l) => l.status === 'replayed').length;
        out.line(`${replayed} result(s) replayed, ${lines.length - replayed} already in the registry`);
        done();
        out.result({ command: 'registry sync', ok: true, replayed, known: lines.length - replayed, authorship: check.authorship, errorCode: null });
      }),
    );

  common(
    registry
      .command('reap')
      .description(
        'Release the reservations of stations that died holding them: a reservation older than --older-than whose device was never written is released (failed, its unit back in the quota); one whose write had begun is marked partial (its unit stays used; the next run on that device resumes it).',
      )
      .requiredOption('--older-than <duration>', 'only reservations at least this old, e.g. 30m, 2h (longer than a run, so live runs are not reaped)')
      .option('--lot <name>', 'only this lot'),
  ).action((options: Common & { olderThan: string; lot?: string }) =>
    withRegistry(io, 'registry reap', options, async (reg, out, done) => {
      const ms = parseDuration(options.olderThan, '--older-than');
      if (options.lot !== undefined) await reg.quota(options.lot);
      const reaped = await reg.reap(ms, options.lot);
      for (const r of reaped) {
        out.event({ type: 'reaped', ...r } as { type: string });
        out.line(`${r.chip} ${r.deviceId} (lot ${r.lot}, attempt ${r.attempt}): ${r.state === 'failed' ? 'released (never written)' : 'partial (written; the next run on it resumes)'}`);
      }
      if (reaped.length === 0) out.line('no reservation to reap');
      done();
      out.result({ command: 'registry reap', ok: true, released: reaped.filter((r) => r.state === 'failed').length, partial: reaped.filter((r) => r.state === 'partial').length, errorCode: null });
    }),
  );

  async function checkRecords(reg: PgRegistry, file: string, publicKeyFile: string | undefined, out: CommandOutput) {
    const resolved = path.resolve(io.cwd, file);
    const stats = statRegularOrAbsent(resolved, 'the record file');
    if (stats === undefined) throw new TfmError('FILE_ERROR', `Cannot read the record file ${file}: it does not exist.`, { details: { path: file } });
    if (publicKeyFile !== undefined) checkDistinctFiles([{ what: 'the record file', file: resolved }, { what: '--public-key', file: path.resolve(io.cwd, publicKeyFile) }]);
    const key = publicKeyFile !== undefined ? readStationPublicKey(path.resolve(io.cwd, publicKeyFile)) : undefined;
    const check = await checkRecordFile(reg, resolved, file, key);
    if (check.authorship === 'unsigned') out.warn(`${file} carries no station signatures: its chain was checked, not who wrote it.`, 'RECORDS_UNSIGNED');
    return check;
  }
}
