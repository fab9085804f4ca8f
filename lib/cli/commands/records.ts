/**
 * `tfm-provision records init`, `records verify FILE [--public-key KEY]` and
 * `records export FILE --csv [-o OUT]`.
 */
import type { Command } from 'commander';
import { TfmError } from '../../errors';
import { checkDistinctFiles, statRegularOrAbsent, writeFileAtomic } from '../../files';
import { readRecords, readStationPublicKey, registryRows, reportError, toCsv, verifyRecordFile } from '../../records';
import type { CliIo } from '../io';
import { jsonLine, streamLine } from '../output';
import { STATION_KEY_OPTION_HELP, openStationKey } from '../options';
import * as path from 'node:path';
import { commandHelp } from '../help';

function ensureReadable(file: string): void {
  const stats = statRegularOrAbsent(file, 'the record file');
  if (stats === undefined) throw new TfmError('FILE_ERROR', `Cannot read the record file ${file}: it does not exist.`, { details: { path: file } });
}

function publicKeyOption(file: string | undefined, cwd: string) {
  return file === undefined ? undefined : readStationPublicKey(path.resolve(cwd, file));
}

export function register(program: Command, io: CliIo): void {
  const records = program.command('records').description('Create the station key; check and export provisioning record files (JSON Lines, SHA-256 chain, Ed25519 signatures).');

  records
    .command('init')
    .description('Create the station key that signs the records (if there is none) and print its public key (PEM) for verifiers.')
    .option('--station-key <file>', STATION_KEY_OPTION_HELP)
    .option('--public-key-out <file>', 'also write the public key (PEM) to this file')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision records init > station.pub   # the public key, for verifiers',
      ]),
    )
    .action((options: { stationKey?: string; publicKeyOut?: string }) => {
      const key = openStationKey(options.stationKey, io, (text) => io.stderr.write(`note: ${text}\n`));
      if (options.publicKeyOut !== undefined) {
        const out = path.resolve(io.cwd, options.publicKeyOut);
        checkDistinctFiles([
          { what: '--station-key', file: key.path },
          { what: '--public-key-out', file: out },
        ]);
        writeFileAtomic(out, key.publicKeyPem, 'the station public key file');
      }
      io.stderr.write(`station key ${key.path}, key ID ${key.keyId}\n`);
      io.stdout.write(key.publicKeyPem);
    });

  records
    .command('verify')
    .description(
      'Check a record file: the hash chain, what the records say, and with --public-key that the station signed every record.\n' +
        'Without --public-key only the chain is checked, which anyone who can edit the file can recompute.',
    )
    .argument('<file>', 'record file (JSON Lines)')
    .option('--public-key <file>', "the station's public key (PEM, from \"records init\"): prove every record was written by that station")
    .option('--json', 'print the report as one JSON line')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision records verify line1.jsonl --public-key station.pub',
        'tfm-provision records verify line1.jsonl --json',
      ]),
    )
    .action(async (name: string, options: { json?: boolean; publicKey?: string }) => {
      const file = path.resolve(io.cwd, name);
      ensureReadable(file);
      const publicKey = publicKeyOption(options.publicKey, io.cwd);
      const report = await verifyRecordFile(file, { publicKey });
      const error = reportError(report, name);
      if (options.json === true) {
        io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'records verify', ...report, errorCode: error?.code ?? null, ...(error !== undefined ? { error: error.toJSON() } : {}) })));
        if (error) throw error;
        return;
      }
      if (report.incompleteTailBytes > 0 && report.tailIsRecordPrefix) {
        io.stderr.write(`note: ${report.incompleteTailBytes} bytes after the last complete line (an append interrupted by a crash); they are not part of the chain.\n`);
      }
      if (error) throw error;
      if (publicKey === undefined) {
        io.stderr.write(
          `warning: chain only${report.unsigned > 0 ? ` (${report.unsigned} record(s) carry no signature)` : ''}: the chain shows lines were not edited without recomputing it, not who wrote them; anyone can recompute it. Give --public-key to check the station's signatures.\n`,
        );
      }
      const what = publicKey !== undefined ? `signed by station key ${report.keyId!.slice(0, 16)}..., chain intact` : 'chain intact';
      io.stdout.write(`${name}: ${what}, ${report.lines} records (${report.intents} intent, ${report.results} result).\nhead ${report.headHash}\n`);
    });

  records
    .command('export')
    .description('Write device ID, identity public key and instance ID of every verified device, for a registry.')
    .argument('<file>', 'record file (JSON Lines)')
    .option('--csv', 'CSV with a header row (the default and only format)')
    .option('-o, --output <out>', 'write to this file instead of stdout')
    .option('--public-key <file>', "export only if every record is signed by this station key (PEM)")
    .option('--allow-broken-chain', 'export even if the chain, the signatures or the records\' sense do not verify')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision records export line1.jsonl --csv -o registry.csv --public-key station.pub',
      ]),
    )
    .action(async (name: string, options: { csv?: boolean; output?: string; publicKey?: string; allowBrokenChain?: boolean }) => {
      const file = path.resolve(io.cwd, name);
      ensureReadable(file);
      const output = options.output !== undefined ? path.resolve(io.cwd, options.output) : undefined;
      if (output !== undefined) {
        statRegularOrAbsent(output, '--output');
        // -o naming the record file (or a link to it) would replace the records with CSV.
        checkDistinctFiles([
          { what: 'the record file', file },
          { what: '--output', file: output },
        ]);
      }
      const report = await verifyRecordFile(file, { publicKey: publicKeyOption(options.publicKey, io.cwd) });
      const error = reportError(report, name);
      if (error !== undefined && (options.allowBrokenChain !== true || report.notRecordFile)) throw error;
      if (options.publicKey === undefined) io.stderr.write('warning: exported without --public-key: the records were checked for their chain, not for who wrote them.\n');
      const csv = toCsv(registryRows(await readRecords(file)));
      if (output !== undefined) writeFileAtomic(output, csv, 'the export');
      else io.stdout.write(csv);
    });
}
