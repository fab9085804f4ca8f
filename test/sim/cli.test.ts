/** `tfm-provision sim create|show|dump|boot`, run in-process. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MemoryMap from 'nrf-intel-hex';
import { Command, CommanderError } from 'commander';
import { register } from '../../lib/cli/commands/sim';
import { EXIT, exitCodeFor } from '../../lib/exit-codes';
import type { CliIo } from '../../lib/cli/io';
import { TfmError } from '../../lib/errors';
import { SimulatedDevice } from '../../lib/testing';
import { captureIo } from '../cli/support/io';

/** The sim command alone, with runCli's error handling (the full program pulls in every command). */
async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('tfm-provision')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  register(program, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) return error.code === 'commander.helpDisplayed' ? EXIT.OK : EXIT.USAGE;
    if (error instanceof TfmError) io.stderr.write(`error ${error.code}: ${error.message}\n`);
    return exitCodeFor(error);
  }
}

const cwd = mkdtempSync(join(tmpdir(), 'tfm-sim-cli-'));

async function run(...args: string[]) {
  const captured = captureIo({ cwd });
  const code = await runCli(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

test('create, show, boot, dump: a chained session on one simulated nRF5340', async () => {
  const created = await run('sim', 'create', 'dev.json', '--chip', 'nrf5340', '--state', 'provisioned', '--device-id', '0123456789ABCDEF');
  expect(created).toMatchObject({ code: EXIT.OK });
  expect(created.stdout).toContain('device ID 0123456789abcdef');

  const shown = await run('sim', 'show', 'dev.json', '--json');
  const summary = JSON.parse(shown.stdout);
  expect(summary).toMatchObject({ chip: 'nrf5340', deviceId: '0123456789abcdef', lifecycle: 'PROVISIONING', debugOpen: { application: true, network: false } });
  expect(summary.kmuSlots.map((s: { index: number }) => s.index)).toEqual([2, 3, 4, 5, 6, 7]);
  expect(shown.stdout).not.toMatch(/"value"/u); // key values stay in the state file

  const booted = await run('sim', 'boot', 'dev.json', '--json');
  expect(booted.code).toBe(EXIT.OK);
  const result = JSON.parse(booted.stdout);
  expect(result).toMatchObject({ ok: true, lifecycle: 'SECURED', errorCode: null });
  expect(result.identityPublicKey).toMatch(/^04[0-9a-f]{128}$/u);
  expect(result.instanceId).toMatch(/^01[0-9a-f]{64}$/u);
  expect(SimulatedDevice.load(join(cwd, 'dev.json')).lifecycle).toBe('SECURED'); // saved back

  const dumped = await run('sim', 'dump', 'dev.json', '--out', 'dev.hex');
  expect(dumped.code).toBe(EXIT.OK);
  const blocks = MemoryMap.fromHex(readFileSync(join(cwd, 'dev.hex'), 'utf8'));
  expect(Buffer.from(blocks.get(0x00ff8000)!).readUInt32LE(0x100)).toBe(0x00000000); // SECURED: both halves entered

  const text = await run('sim', 'show', 'dev.json');
  expect(text.stdout).toMatch(/lifecycle\s+SECURED/u);
  expect(text.stdout).toMatch(/application LOCKED/u);
});

test('boot on an ASSEMBLY device prints the refusal and exits 4 with the error code', async () => {
  await run('sim', 'create', 'fresh.json', '--chip', 'nrf9160');
  const booted = await run('sim', 'boot', 'fresh.json', '--json');
  expect(JSON.parse(booted.stdout)).toMatchObject({ ok: false, lifecycle: 'ASSEMBLY', errorCode: 'TFM_LIFECYCLE_REFUSED', identityPublicKey: null });
  expect(booted.code).toBe(EXIT.FAILED_AFTER_WRITE);
  expect(booted.stderr).toContain('error TFM_LIFECYCLE_REFUSED');
});

test('usage errors exit 2: unknown chip, unknown state, bad device ID, existing file without --force', async () => {
  expect((await run('sim', 'create', 'x.json', '--chip', 'nrf52840')).code).toBe(EXIT.USAGE);
  const state = await run('sim', 'create', 'x.json', '--chip', 'nrf9161', '--state', 'bricked');
  expect(state.code).toBe(EXIT.USAGE);
  expect(state.stderr).toContain('error USAGE: Unknown state "bricked"');
  expect((await run('sim', 'create', 'x.json', '--chip', 'nrf9161', '--device-id', 'xyz')).code).toBe(EXIT.USAGE);
  expect(existsSync(join(cwd, 'x.json'))).toBe(false);
  await run('sim', 'create', 'y.json', '--chip', 'nrf9161');
  const again = await run('sim', 'create', 'y.json', '--chip', 'nrf9161');
  expect(again.code).toBe(EXIT.USAGE);
  expect((await run('sim', 'create', 'y.json', '--chip', 'nrf9161', '--force')).code).toBe(EXIT.OK);
  expect((await run('sim', 'create', 'n.json', '--chip', 'nrf9160', '--state', 'network-locked')).code).toBe(EXIT.USAGE);
});

test('a corrupted state file is refused with SIM_STATE_INVALID (exit 2) and left as it is', async () => {
  await run('sim', 'create', 'c.json', '--chip', 'nrf9160');
  const file = join(cwd, 'c.json');
  writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
  const before = readFileSync(file, 'utf8');
  for (const args of [['boot', 'c.json'], ['show', 'c.json'], ['dump', 'c.json', '--out', 'c.hex']]) {
    const result = await run('sim', ...args);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('error SIM_STATE_INVALID');
  }
  expect(readFileSync(file, 'utf8')).toBe(before);
  expect((await run('sim', 'show', 'missing.json')).stderr).toContain('error SIM_STATE_NOT_FOUND');
});

test('--help lists the states and examples', async () => {
  const help = captureIo({ cwd });
  await runCli(['sim', 'create', '--help'], help.io);
  expect(help.stdout()).toContain('erase-protected');
  expect(help.stdout()).toContain('--device-id <hex>');
  const top = captureIo({ cwd });
  await runCli(['sim', '--help'], top.io);
  expect(top.stdout()).toContain('tfm-provision sim boot dev.json --json');
});
