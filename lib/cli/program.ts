import { Command, CommanderError } from 'commander';
import { TfmError } from '../errors';
import { EXIT, EXIT_CODE_HELP, exitCodeFor } from '../exit-codes';
import { registerCommands } from './commands';
import { defaultIo, type CliIo } from './io';

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('../../package.json') as { version: string }).version;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('tfm-provision');
  program
    .description(
      'Provision Nordic nRF5340 / nRF91 devices for Trusted Firmware-M over a debug probe:\n' +
        'PSA lifecycle ASSEMBLY -> PROVISIONING, hardware unique keys and identity key in the KMU,\n' +
        'network-core debug lock, verification by read-back, and an audit record.',
    )
    .version(packageVersion())
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n`)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's own parse errors (unknown option or command, invalid choice) carry the stable
      // USAGE code like every other failure, so scripts can branch on it.
      outputError: (s, write) => write(s.replace(/^error: /, 'error USAGE: ')),
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerCommands(program, io);
  return program;
}

/** Runs the CLI and returns the exit code; never throws, never prints a stack trace for a TfmError. */
export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        return EXIT.OK;
      }
      return EXIT.USAGE;
    }
    const code = exitCodeFor(error);
    if (error instanceof TfmError) {
      io.stderr.write(`error ${error.code}: ${error.message}\n`);
    } else {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      io.stderr.write(`internal error: ${message}\n`);
    }
    return code;
  }
}
