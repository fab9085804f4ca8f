/**
 * The registry from the command line, as a rig runs it (child processes, real files, a private
 * PostgreSQL server): provision with --registry/--lot (the re-run diagnosis consumes nothing; no
 * password from the URL anywhere), usage errors, the registry subcommands and their --json lines,
 * import of existing records with the station's signatures checked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pgTest, startPostgres, type PostgresServer } from '../support/postgres';
import { ensureBuilt, jsonLines, runCliProcess, type CliRun } from '../cli/support/cli';

let server: PostgresServer | undefined;
let dir: string;
const PASSWORD = 'pw-Zq81-secret';

beforeAll(async () => {
  ensureBuilt();
  server = await startPostgres();
  if (server === undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-registry-cli-'));
  expect((await run(['registry', 'migrate', '--registry', server.adminUrl])).code).toBe(0);
  await server.sql(`CREATE ROLE line LOGIN; GRANT tfm_registry_station TO line;`);
  expect((await run(['registry', 'lot', 'create', 'P1', '--chip', 'nrf5340', '--quota', '2', '--registry', server.adminUrl])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const pgIt = (name: string, body: () => Promise<void>, timeout = 120_000): void => pgTest(() => server, name, body, timeout);

function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCliProcess(args, { env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir ?? os.tmpdir(), 'locks'), ...extraEnv }, cwd: dir });
}

function resultOf(r: CliRun): Record<string, unknown> {
  return jsonLines(r.stdout).find((l) => l.type === 'result')!;
}

/** Every file under dir, and the outputs: none may hold the password. */
function expectNoPassword(runs: CliRun[]): void {
  for (const r of runs) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  for (const file of walk(dir)) expect({ file, hit: fs.readFileSync(file, 'latin1').includes(PASSWORD) }).toEqual({ file, hit: false });
}

describe('registry on the command line', () => {
  pgIt('provision --registry --lot reserves and completes; the re-run diagnosis consumes nothing; the password never shows', async () => {
    // Trust authentication on the test server: any password is accepted, so the URL may carry one.
    const url = server!.url('line', 'registry', PASSWORD);
    const dev = path.join(dir, 'dev.json');
    const records = path.join(dir, 'p.jsonl');
    const key = path.join(dir, 'p.pem');
    const common = ['--sim', dev, '--records', records, '--station-key', key, '--json'];
    const first = await run(['provision', ...common, '--registry', url, '--lot', 'P1']);
    expect(first.code).toBe(0);
    expect(resultOf(first)).toMatchObject({ outcome: 'provisioned', quota: { quota: 2, used: 1, reserved: 0, left: 1 } });
    // The same device again, through the environment variables: found complete, nothing consumed.
    const again = await run(['provision', ...common], { TFM_PROVISION_REGISTRY: url, TFM_PROVISION_LOT: 'P1' });
    expect(again.code).toBe(0);
    expect(resultOf(again).outcome).toBe('alreadyProvisioned');
    const status = await run(['registry', 'status', '--lot', 'P1', '--json', '--registry', url]);
    expect(jsonLines(status.stdout).find((l) => l.type === 'lot')).toMatchObject({ used: 1, reserved: 0, left: 1 });
    // A lot that does not exist: refused before any write (exit 3), the device untouched.
    const fresh = path.join(dir, 'fresh.json');
    const noLot = await run(['provision', '--sim', fresh, '--records', records, '--station-key', key, '--json', '--registry', url, '--lot', 'nope']);
    expect(noLot.code).toBe(3);
    expect(resultOf(noLot)).toMatchObject({ outcome: 'refused', errorCode: 'LOT_NOT_FOUND', afterWrite: false });
    // A server that is not there: REGISTRY_UNAVAILABLE, exit 5, nothing written.
    const gone = await run(['provision', '--sim', fresh, '--records', records, '--station-key', key, '--json', '--registry', `postgresql://line:${PASSWORD}@127.0.0.1:1/registry`, '--lot', 'P1']);
    expect(gone.code).toBe(5);
    expect(resultOf(gone)).toMatchObject({ errorCode: 'REGISTRY_UNAVAILABLE', afterWrite: false });
    const human = await run(['registry', 'status', '--registry', url]);
    expect(human.stdout).toContain('lot P1 (nrf5340): 1 used, 0 reserved, 1 left of 2');
    expectNoPassword([first, again, status, noLot, gone, human]);
  });

  pgIt('the station shows the quota left per device and in its summary', async () => {
    expect((await run(['registry', 'lot', 'create', 'H1', '--chip', 'nrf5340', '--quota', '1', '--registry', server!.adminUrl])).code).toBe(0);
    const station = await run(['station', '--sim-count', '2', '--records', path.join(dir, 'h.jsonl'), '--station-key', path.join(dir, 'h.pem'), '--registry', server!.url('line'), '--lot', 'H1']);
    expect(station.code).toBe(3);
    expect(station.stdout.match(/ 0 left: (PASS|REFUSED)/g)?.sort()).toEqual([' 0 left: PASS', ' 0 left: REFUSED']);
    expect(station.stdout).toMatch(/quota left +0 of 1 in lot H1 \(1 used, 0 reserved\)/);
    // The refusal names the lot's figures as they were when it was refused (the other device holds the unit).
    expect(station.stdout).toMatch(/QUOTA_EXHAUSTED \(nothing written\) - Lot H1 has no quota left \((0 used, 1 reserved|1 used, 0 reserved) of 1\)/);
  });

  pgIt('usage: --lot without a registry, a registry without a lot, a URL that is not postgresql://, --no-records with a registry (exit 2)', async () => {
    const dev = path.join(dir, 'u.json');
    for (const args of [
      ['--lot', 'P1'],
      ['--registry', server!.url('line')],
      ['--registry', 'mysql://x@y/z', '--lot', 'P1'],
      ['--registry', server!.url('line'), '--lot', 'P1', '--no-records'],
    ]) {
      const r = await run(['provision', '--sim', dev, '--json', ...args]);
      expect([args.join(' '), r.code, resultOf(r)?.errorCode]).toEqual([args.join(' '), 2, 'USAGE']);
    }
    const station = await run(['station', '--sim-count', '1', '--lot', 'P1', '--json']);
    expect(station.code).toBe(2);
  });

  pgIt('registry lots, lot create refusals, export without devices, reap of nothing, --help that teaches', async () => {
    const admin = server!.adminUrl;
    const lots = await run(['registry', 'lots', '--json', '--registry', admin]);
    expect(jsonLines(lots.stdout).filter((l) => l.type === 'lot').map((l) => l.name)).toContain('P1');
    for (const l of jsonLines(lots.stdout)) expect(l.schema).toBe(1);
    expect((await run(['registry', 'lot', 'create', 'P1', '--chip', 'nrf5340', '--quota', '1', '--registry', admin, '--json'])).code).toBe(2);
    expect(resultOf(await run(['registry', 'lot', 'create', 'P1', '--chip', 'nrf5340', '--quota', '1', '--registry', admin, '--json'])).errorCode).toBe('LOT_EXISTS');
    expect((await run(['registry', 'lot', 'create', 'Q', '--chip', 'esp32', '--quota', '1', '--registry', admin])).code).toBe(2);
    expect((await run(['registry', 'lot', 'create', 'Q', '--chip', 'nrf9160', '--quota', '-1', '--registry', admin])).code).toBe(2);
    // A lot of quota 0 could never provision a device (and no command raises a quota): refused.
    const zero = await run(['registry', 'lot', 'create', 'Z0', '--chip', 'nrf9160', '--quota', '0', '--registry', admin, '--json']);
    expect([zero.code, resultOf(zero).errorCode]).toEqual([2, 'USAGE']);
    // The station role may not create lots.
    const denied = await run(['registry', 'lot', 'create', 'Q', '--chip', 'nrf9160', '--quota', '5', '--registry', server!.url('line'), '--json']);
    expect([denied.code, resultOf(denied).errorCode]).toEqual([5, 'REGISTRY_PERMISSION_DENIED']);
    expect((await run(['registry', 'lot', 'create', 'E9', '--chip', 'nrf9160', '--quota', '5', '--registry', admin])).code).toBe(0);
    const empty = await run(['registry', 'export', '--csv', '--lot', 'E9', '--registry', admin]);
    expect(empty.stdout).toBe('lot,chip,device_id,identity_public_key,instance_id,instance_id_formula,implementation_id,station,probe_serial,provisioned_at\r\n');
    expect(resultOf(await run(['registry', 'export', '--json', '--lot', 'nope', '--registry', admin])).errorCode).toBe('LOT_NOT_FOUND');
    const reap = await run(['registry', 'reap', '--older-than', '1h', '--registry', admin, '--json']);
    expect(resultOf(reap)).toMatchObject({ ok: true, released: 0, partial: 0 });
    expect((await run(['registry', 'reap', '--older-than', 'soon', '--registry', admin])).code).toBe(2);
    const help = await run(['registry', '--help']);
    expect(help.stdout).toContain('GRANT tfm_registry_station TO line1');
    for (const sub of ['migrate', 'lots', 'status', 'export', 'import', 'sync', 'reap']) expect(help.stdout).toContain(sub);
    expect((await run(['registry', 'reap', '--help'])).stdout).toContain('partial');
    expect((await run(['registry', 'status'], { TFM_PROVISION_REGISTRY: '' })).code).toBe(2);
  });

  pgIt('registry import backfills a station\'s records (signatures checked against its key), once; a forged file is refused whole', async () => {
    const admin = server!.adminUrl;
    expect((await run(['registry', 'lot', 'create', 'IMP', '--chip', 'nrf5340', '--quota', '3', '--registry', admin])).code).toBe(0);
    const records = path.join(dir, 'old.jsonl');
    const key = path.join(dir, 'old.pem');
    // A station without a registry: four devices, more than the lot's quota of three.
    const station = await run(['station', '--sim-count', '4', '--records', records, '--station-key', key, '--json']);
    expect(station.code).toBe(0);
    const pub = path.join(dir, 'old.pub');
    expect((await run(['records', 'init', '--station-key', key, '--public-key-out', pub])).code).toBe(0);
    // Signed by a key the registry does not know, and none given: refused.
    const unknown = await run(['registry', 'import', records, '--lot', 'IMP', '--registry', admin, '--json']);
    expect([unknown.code, resultOf(unknown).errorCode]).toEqual([4, 'RECORDS_SIGNATURE_INVALID']);
    const imported = await run(['registry', 'import', records, '--lot', 'IMP', '--public-key', pub, '--registry', admin, '--json']);
    expect(resultOf(imported)).toMatchObject({ imported: 3, refused: 1, authorship: 'verified', errorCode: 'QUOTA_EXHAUSTED' });
    expect(imported.code).toBe(3);
    const status = jsonLines((await run(['registry', 'status', '--lot', 'IMP', '--json', '--registry', admin])).stdout).find((l) => l.type === 'lot')!;
    expect(status).toMatchObject({ used: 3, reserved: 0, left: 0 });
    // Again: nothing new.
    const again = await run(['registry', 'import', records, '--lot', 'IMP', '--public-key', pub, '--registry', admin, '--json']);
    expect(resultOf(again)).toMatchObject({ imported: 0, already: 3 });
    // One changed byte in a record: the whole file is refused.
    const forged = path.join(dir, 'forged.jsonl');
    fs.writeFileSync(forged, fs.readFileSync(records, 'utf8').replace(/"probeSerial":(\d)/, '"probeSerial":9$1'));
    const refused = await run(['registry', 'import', forged, '--lot', 'IMP', '--public-key', pub, '--registry', admin, '--json']);
    expect(refused.code).not.toBe(0);
    expect(['RECORDS_SIGNATURE_INVALID', 'RECORDS_CHAIN_BROKEN']).toContain(resultOf(refused).errorCode);
  });
});
