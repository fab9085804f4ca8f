/**
 * Key hygiene of the command line: the provisioning flows a user runs (provision with and without
 * --json, re-runs, dry runs, refusals, verify, inspect, sim boot, the image strategy, a station
 * with records, records verify/export, recover), each a real `node dist/cli/main.js` process.
 * Everything they print (stdout, stderr) and every file they write (records, CSV, PEM; not the
 * simulator's own device state files, which are the chip) is searched for the keys those runs
 * put on the devices: read chip-off from the state files before anything erases them, and
 * replayed from the seed where a run was seeded. Required: zero hits.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimulatedDevice, syntheticImageHex } from '../../lib/sim';
import type { ChipName } from '../../lib/targets';
import { deviceSecrets, publicKeyHex, seededSecrets } from './capture';
import { SecretScanner, describeHits } from './secret-scanner';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const CHIPS: ChipName[] = ['nrf5340', 'nrf9160', 'nrf9161', 'nrf9151'];

let scratch: string;
const scanner = new SecretScanner();
const outputs: Array<{ name: string; text: string }> = [];
/** Device state files: the simulated chips themselves, not output. */
const stateFiles = new Set<string>();
/** Inputs the test wrote (images). */
const inputs = new Set<string>();

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', TFM_PROVISION_LOCK_DIR: path.join(scratch, 'locks') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      outputs.push({ name: `${args.join(' ')} (stdout)`, text: stdout }, { name: `${args.join(' ')} (stderr)`, text: stderr });
      resolve({ code, stdout, stderr });
    });
  });
}

function addStateSecrets(file: string, label: string): void {
  stateFiles.add(path.resolve(file));
  for (const secret of deviceSecrets(SimulatedDevice.load(file), label)) scanner.add(secret.label, secret.bytes);
}

async function chipFlows(chip: ChipName): Promise<void> {
  const dir = path.join(scratch, chip);
  await fsp.mkdir(dir, { recursive: true });
  const dev = path.join(dir, 'device.json');
  const seed = `hygiene-${chip}`;
  stateFiles.add(dev);
  expect((await cli(['sim', 'create', dev, '--chip', chip, '--device-id', '0123456789abcdef'], dir)).code).toBe(0);
  const provisioned = await cli(['provision', '--sim', dev, '--json', '--seed', seed, '--export-public-key', path.join(dir, 'identity.pem')], dir);
  expect(provisioned.code).toBe(0);
  addStateSecrets(dev, `${chip} --seed`);
  for (const s of seededSecrets(seed, chip, chip)) scanner.add(s.label, s.bytes);
  // The replayed identity key is the one the device holds and the CLI reported.
  const replayed = seededSecrets(seed, chip, chip)[2].bytes;
  expect(provisioned.stdout).toContain(publicKeyHex(replayed));

  await cli(['provision', '--sim', dev], dir);
  await cli(['verify', '--sim', dev, '--json'], dir);
  await cli(['verify', '--sim', dev], dir);
  await cli(['inspect', '--sim', dev, '--json'], dir);
  await cli(['inspect', '--sim', dev], dir);

  // A second device provisioned with the human output, from the OS CSPRNG.
  const human = path.join(dir, 'human.json');
  stateFiles.add(human);
  await cli(['sim', 'create', human, '--chip', chip], dir);
  expect((await cli(['provision', '--sim', human], dir)).code).toBe(0);
  addStateSecrets(human, `${chip} human`);

  const fresh = path.join(dir, 'fresh.json');
  stateFiles.add(fresh);
  await cli(['sim', 'create', fresh, '--chip', chip], dir);
  await cli(['provision', '--sim', fresh, '--dry-run'], dir);
  await cli(['provision', '--sim', fresh, '--dry-run', '--json'], dir);

  const partial = path.join(dir, 'partial.json');
  stateFiles.add(partial);
  await cli(['sim', 'create', partial, '--chip', chip, '--state', 'partial'], dir);
  addStateSecrets(partial, `${chip} partial preset`);
  expect((await cli(['provision', '--sim', partial], dir)).code).toBe(3);
  await cli(['provision', '--sim', partial, '--json'], dir);
  await cli(['inspect', '--sim', partial, '--json'], dir);

  if (chip === 'nrf5340' || chip === 'nrf9160') {
    const image = path.join(dir, 'provisioning.hex');
    inputs.add(image);
    await fsp.writeFile(image, syntheticImageHex({ chip, kind: 'provisioning' }));
    const onChip = path.join(dir, 'image.json');
    stateFiles.add(onChip);
    await cli(['sim', 'create', onChip, '--chip', chip], dir);
    expect((await cli(['provision', '--sim', onChip, '--strategy', 'image', '--image', image, '--json'], dir)).code).toBe(0);
    addStateSecrets(onChip, `${chip} image strategy`);
    await cli(['provision', '--sim', onChip, '--strategy', 'image', '--image', image], dir);
  }

  await cli(['sim', 'boot', dev, '--json'], dir);
  await cli(['sim', 'boot', human], dir);
}

async function stationFlows(): Promise<void> {
  const dir = path.join(scratch, 'station');
  await fsp.mkdir(dir, { recursive: true });
  const records = path.join(dir, 'records.jsonl');
  expect((await cli(['station', '--sim-count', '3', '--sim-state-dir', 'fleet', '--records', records, '--json'], dir)).code).toBe(0);
  await cli(['station', '--sim-count', '2', '--sim-state-dir', 'fleet2', '--chip', 'nrf9160', '--records', records], dir);
  for (const fleet of ['fleet', 'fleet2']) {
    for (const file of await fsp.readdir(path.join(dir, fleet))) if (file.endsWith('.json')) addStateSecrets(path.join(dir, fleet, file), `station ${fleet}/${file}`);
  }
  await cli(['records', 'verify', records], dir);
  await cli(['records', 'export', records, '--csv'], dir);
  await cli(['records', 'export', records, '--csv', '--output', path.join(dir, 'registry.csv')], dir);
  // recover erases the keys: their secrets were collected above.
  await cli(['recover', '--sim-count', '1', '--sim-state-dir', 'fleet', '--json'], dir);
  await cli(['recover', '--sim-count', '1', '--sim-state-dir', 'fleet2'], dir);
}

async function filesWritten(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.resolve(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesWritten(full)));
    else if (!stateFiles.has(full) && !inputs.has(full) && !full.startsWith(path.join(scratch, 'locks'))) out.push(full);
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` (npm test does it in pretest)`);
  scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-hygiene-cli-'));
  await Promise.all([
    (async () => {
      for (const chip of CHIPS.slice(0, 2)) await chipFlows(chip);
    })(),
    (async () => {
      for (const chip of CHIPS.slice(2)) await chipFlows(chip);
      await stationFlows();
    })(),
  ]);
}, 300_000);

afterAll(async () => {
  if (scratch) await fsp.rm(scratch, { recursive: true, force: true });
});

test('no key byte in anything the CLI printed or wrote', async () => {
  const files = await filesWritten(scratch);
  const documents = [
    ...outputs,
    ...(await Promise.all(files.map(async (file) => ({ name: path.relative(scratch, file), text: await fsp.readFile(file, 'latin1') })))),
  ];
  expect(files.some((f) => f.endsWith('records.jsonl'))).toBe(true);
  expect(files.some((f) => f.endsWith('.pem'))).toBe(true);
  expect(files.some((f) => f.endsWith('.csv'))).toBe(true);
  expect(scanner.size).toBeGreaterThan(60);
  const hits = documents.flatMap((d) => scanner.scan(d.text, d.name));
  const bytes = documents.reduce((n, d) => n + d.text.length, 0);
  process.stdout.write(
    `key hygiene (CLI): ${outputs.length / 2} commands, ${files.length} files written, ${bytes} bytes scanned for ${scanner.size} secrets: ${hits.length} hits\n`,
  );
  expect(describeHits(hits)).toBe('');
});

test('control: the state files do hold the keys (so the secrets are the real ones)', async () => {
  const state = [...stateFiles].find((f) => f.endsWith(path.join('nrf9160', 'device.json')))!;
  const hits = scanner.scan(await fsp.readFile(state, 'utf8'), 'a device state file');
  expect(hits.length).toBeGreaterThan(0);
});
