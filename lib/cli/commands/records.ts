/**
 * `tfm-provision records verify FILE` and `tfm-provision records export FILE --csv`.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { TfmError } from '../../errors';
import { readRecords, registryRows, toCsv, verifyRecordFile, type VerifyReport } from '../../records';
import { jsonLine, streamLine } from '../output';
import type { CliIo } from '../io';

async function ensureReadable(file: string): Promise<void> {
  try {
    const stat = await fsp.stat(file);
    if (!stat.isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot read the record file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function chainBrokenError(report: VerifyReport): TfmError {
  const brk = report.firstBreak!;
  return new TfmError('RECORDS_CHAIN_BROKEN', `${report.path}: the record chain breaks at line ${brk.line}: ${brk.reason}. Lines from there on cannot be trusted.`, {
    details: { ...brk },
  });
}

export function register(program: Command, io: CliIo): void {
  const records = program.command('records').description('Check and export provisioning record files (JSON Lines with a SHA-256 chain).');

  records
    .command('verify')
    .description('Check the hash chain of a record file and report the first break.')
    .argument('<file>', 'record file (JSON Lines)')
    .option('--json', 'print the report as one JSON line')
    .action(async (name: string, options: { json?: boolean }) => {
      const file = resolve(io.cwd, name);
      await ensureReadable(file);
      const report = await verifyRecordFile(file);
      if (options.json === true) {
        io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'records verify', ...report, errorCode: report.ok ? null : 'RECORDS_CHAIN_BROKEN' })));
        if (!report.ok) throw chainBrokenError(report);
        return;
      }
      if (report.incompleteTailBytes > 0) {
        io.stderr.write(`note: ${report.incompleteTailBytes} bytes after the last complete line (an append interrupted by a crash); they are not part of the chain.\n`);
      }
      if (!report.ok) throw chainBrokenError(report);
      io.stdout.write(`${name}: chain intact, ${report.lines} records (${report.intents} intent, ${report.results} result).\nhead ${report.headHash}\n`);
    });

  records
    .command('export')
    .description('Write device ID, identity public key and instance ID of every verified device, for a registry.')
    .argument('<file>', 'record file (JSON Lines)')
    .option('--csv', 'CSV with a header row (the default and only format)')
    .option('-o, --output <out>', 'write to this file instead of stdout')
    .option('--allow-broken-chain', 'export even if the hash chain does not verify')
    .action(async (name: string, options: { csv?: boolean; output?: string; allowBrokenChain?: boolean }) => {
      // Relative to the run's directory, like every other file the CLI reads.
      const file = resolve(io.cwd, name);
      await ensureReadable(file);
      const report = await verifyRecordFile(file);
      if (!report.ok && options.allowBrokenChain !== true) throw chainBrokenError(report);
      const csv = toCsv(registryRows(await readRecords(file)));
      if (options.output !== undefined) {
        try {
          await fsp.writeFile(resolve(io.cwd, options.output), csv);
        } catch (error) {
          throw new TfmError('FILE_ERROR', `Cannot write ${options.output}: ${(error as Error).message}`, { cause: error });
        }
      } else {
        io.stdout.write(csv);
      }
    });
}
