import { Command, CommanderError } from 'commander';
import { TfmError, asTfmError } from '../errors';
import { EXIT, EXIT_CODE_HELP, exitCodeFor } from '../exit-codes';
import { registerCommands } from './commands';
import { defaultIo, type CliIo } from './io';
import { jsonLine, streamLine } from './output';
import { Shutdown } from './shutdown';

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('../../package.json') as { version: string }).version;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('tfm-provision');
  program
    .description(
      'Provision Nordic nRF5340 / nRF91 devices for Trusted Firmware-M over a debug probe: ' +
        'PSA lifecycle ASSEMBLY -> PROVISIONING, hardware unique keys and identity key in the KMU, ' +
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
    .showHelpAfterError('(run with --help for usage)')
    .option('--json', 'JSON Lines on stdout for the command that follows (docs/json.md); the same as its own --json');
  // Commander parses a program option anywhere on the line, so `tfm-provision --json list` and
  // `tfm-provision list --json` both land here: hand it to the command that runs.
  program.hook('preAction', (root, action) => {
    if (root.opts().json !== true) return;
    if (!action.options.some((o) => o.attributeName() === 'json')) {
      throw new TfmError('USAGE', `\`${commandPath(action)}\` has no JSON output; drop --json.`);
    }
    action.setOptionValue('json', true);
  });
  registerCommands(program, io);
  return program;
}

/** "records verify" for the records verify command (the program's name left out). */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The command a command line names, for a result line written before commander found it. */
function commandNamed(argv: string[], program: Command): string | null {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (words.length === 0) return null;
  // Down the program's own command tree (`registry lot create`, `records verify`), so a new group
  // needs no list here; an unknown first word is named as typed.
  const names: string[] = [];
  let command = program;
  for (const word of words) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) break;
    names.push(sub.name());
    command = sub;
    if (command.commands.length === 0) break;
  }
  return names.length > 0 ? names.join(' ') : words[0]!;
}

/**
 * A stdout that notes whether a {"type":"result"} line went through it, so that a run asked for
 * JSON which fails before its command wrote one (a parse error, a missing file) still ends with
 * one: with --json every failure is a result line with an errorCode.
 */
function watchResult(io: CliIo): { io: CliIo; wroteResult: () => boolean } {
  let wrote = false;
  const stdout = io.stdout;
  const proxy = new Proxy(stdout, {
    get(target, property, receiver) {
      if (property === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => {
          if (typeof chunk === 'string' && chunk.startsWith('{"type":"result"')) wrote = true;
          return (target.write as (...a: unknown[]) => boolean).call(target, chunk, ...rest);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { io: { ...io, stdout: proxy }, wroteResult: () => wrote };
}

/** Runs the CLI and returns the exit code; never throws, never prints a stack trace for a TfmError. */
export async function runCli(argv: string[], given: CliIo = defaultIo()): Promise<number> {
  const shutdown = given.shutdown ?? new Shutdown();
  // Every command writes through guarded streams: a closed pipe or terminal never throws into a run.
  const guarded: CliIo = { ...given, stdout: shutdown.guard(given.stdout, 'stdout'), stderr: shutdown.guard(given.stderr, 'stderr'), shutdown };
  try {
    return shutdown.exitCode(await runProgram(argv, guarded));
  } finally {
    shutdown.dispose();
  }
}

async function runProgram(argv: string[], given: CliIo): Promise<number> {
  const { io, wroteResult } = watchResult(given);
  // Asked for JSON anywhere on the line (before `--`): known even when commander cannot parse it.
  const end = argv.indexOf('--');
  const wantsJson = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  const program = buildProgram(io);
  // The error as docs/json.md gives it ({ code, message, category, afterWrite, details? }), the
  // same shape a command's own failed result carries (withResultLine).
  const failureLine = (error: TfmError): void => {
    if (!wantsJson || wroteResult()) return;
    io.stdout.write(jsonLine(streamLine({ type: 'result', command: commandNamed(argv, program), ok: false, errorCode: error.code, error: error.toJSON() })));
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        return EXIT.OK;
      }
      failureLine(new TfmError('USAGE', error.message.replace(/^error: /, '')));
      return EXIT.USAGE;
    }
    const code = exitCodeFor(error);
    if (error instanceof TfmError) {
      failureLine(error);
      io.stderr.write(`error ${error.code}: ${error.message}\n`);
    } else {
      failureLine(asTfmError(error));
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      io.stderr.write(`internal error: ${message}\n`);
    }
    return code;
  }
}
