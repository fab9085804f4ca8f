/**
 * The "Examples:" of every command's --help, read as a user copies them: each line starts with
 * `tfm-provision`, names the command whose help shows it (or one of its subcommands), and uses only
 * options that command has. A renamed or removed option leaves no stale example behind. The
 * simulator examples of provision, verify, inspect, list, recover and station also run, in a
 * temporary directory, and exit 0.
 */
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { buildProgram, runCli } from '../../lib/cli/program';
import { EXIT } from '../../lib/exit-codes';
import { captureIo } from './support/io';

const program = buildProgram(captureIo().io);

function all(command: Command, prefix: string[] = []): Array<{ path: string[]; command: Command }> {
  return command.commands.flatMap((c) => [{ path: [...prefix, c.name()], command: c }, ...all(c, [...prefix, c.name()])]);
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function examples(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf('Examples:');
  if (start === -1) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    out.push(line.replace(/\s+#.*$/u, '').trim());
  }
  return out;
}

/** The words of an example after the program name, with the command and the options it names. */
function parse(example: string): { words: string[]; options: string[] } {
  const words = example.split('>')[0]!.trim().split(/\s+/u).slice(1);
  return { words, options: words.filter((w) => w.startsWith('--') || /^-[a-z]$/u.test(w)) };
}

const commands = all(program).filter((c) => examples(helpOf(c.command)).length > 0);

test('the device commands, doctor and records all show examples', () => {
  const named = commands.map((c) => c.path.join(' '));
  expect(named).toEqual(expect.arrayContaining(['provision', 'station', 'verify', 'inspect', 'list', 'recover', 'doctor', 'records init', 'records verify', 'records export', 'sim', 'attest verify', 'attest request']));
});

test.each(commands.map((c) => [c.path.join(' '), c] as const))('%s --help: every example names this command and only its options', (_name, { path: names, command }) => {
  for (const example of examples(helpOf(command))) {
    expect(example.startsWith('tfm-provision ')).toBe(true);
    const { words, options } = parse(example);
    expect(words.slice(0, names.length)).toEqual(names);
    // The command the example runs: this one, or (for a group such as sim) the subcommand named next.
    const sub = command.commands.find((c) => c.name() === words[names.length]);
    const target = sub ?? command;
    const known = new Set(target.options.flatMap((o) => [o.long, o.short]).concat(['--help', '-h']));
    for (const option of options) expect(`${example}: ${option}`).toBe(known.has(option) ? `${example}: ${option}` : `${example}: (unknown) ${option}`);
  }
});

test('the simulator examples run as printed and exit 0', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfm-help-examples-'));
  const env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), TFM_PROVISION_STATION_KEY: path.join(dir, 'station.pem') };
  const run = async (args: string[]) => {
    const c = captureIo({ cwd: dir, env });
    const code = await runCli(args, c.io);
    return { code, out: c.stdout() + c.stderr() };
  };
  expect((await run(['sim', 'create', 'dev.json', '--chip', 'nrf5340'])).code).toBe(EXIT.OK);
  const simExamples = commands
    .filter((c) => ['provision', 'verify', 'inspect', 'list', 'recover', 'station'].includes(c.path[0]!))
    .flatMap((c) => examples(helpOf(c.command)))
    .filter((e) => / --sim(-count)? /u.test(`${e} `))
    // provision first, so verify finds dev.json provisioned; recover last.
    .sort((a, b) => rank(a) - rank(b));
  expect(simExamples.length).toBeGreaterThanOrEqual(6);
  for (const example of simExamples) {
    const args = example.split(/\s+/u).slice(1);
    const r = await run(args);
    expect(`${example}: exit ${r.code}`).toBe(`${example}: exit 0`);
  }
});

function rank(example: string): number {
  const order = ['provision', 'verify', 'inspect', 'list', 'station', 'recover'];
  return order.indexOf(example.split(/\s+/u)[1]!);
}
