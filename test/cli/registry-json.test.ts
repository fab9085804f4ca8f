/**
 * docs/json.md's rule for the registry commands, on a private PostgreSQL server (as in
 * test/registry/): a failed result line carries `error` { code, message, category, afterWrite }.
 * `registry import` past the lot's quota wrote ok:false with an errorCode and no error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pgTest, startPostgres, type PostgresServer } from '../support/postgres';
import { ensureBuilt, jsonLines, runCliProcess, type CliRun } from './support/cli';

let server: PostgresServer | undefined;
let dir: string;

beforeAll(async () => {
  ensureBuilt();
  server = await startPostgres();
  if (server === undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-registry-json-'));
  expect((await run(['registry', 'migrate', '--registry', server.adminUrl])).code).toBe(0);
  expect((await run(['registry', 'lot', 'create', 'J1', '--chip', 'nrf5340', '--quota', '1', '--registry', server.adminUrl])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<CliRun> {
  return runCliProcess(args, { env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir ?? os.tmpdir(), 'locks'), TFM_PROVISION_STATION_KEY: path.join(dir ?? os.tmpdir(), 'station.pem') }, cwd: dir });
}

pgTest(() => server, 'registry import past the quota: exit 3, the result line has errorCode QUOTA_EXHAUSTED and the error', async () => {
  for (const n of [1, 2]) expect((await run(['provision', '--sim', `d${n}.json`, '--records', 'old.jsonl'])).code).toBe(0);
  const pub = await run(['records', 'init']);
  fs.writeFileSync(path.join(dir, 'station.pub'), pub.stdout);
  const r = await run(['registry', 'import', 'old.jsonl', '--lot', 'J1', '--public-key', 'station.pub', '--json', '--registry', server!.adminUrl]);
  expect(r.code).toBe(3);
  const lines = jsonLines(r.stdout);
  const result = lines[lines.length - 1]!;
  expect(result).toMatchObject({ type: 'result', command: 'registry import', ok: false, imported: 1, refused: 1, errorCode: 'QUOTA_EXHAUSTED' });
  expect(result.error).toEqual({ code: 'QUOTA_EXHAUSTED', message: expect.stringContaining('not imported'), category: 'refused', afterWrite: false });
}, 120_000);
