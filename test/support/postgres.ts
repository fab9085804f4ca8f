/**
 * A private PostgreSQL server for the registry tests: its own temporary data directory, a free
 * port on 127.0.0.1, its unix socket inside the temporary directory, fsync off (the data is thrown
 * away). Started per test file (`startPostgres()` in beforeAll, `server.destroy()` in afterAll).
 *
 * The server binaries: $TFM_PROVISION_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin
 * (Debian's `postgresql` package, which .ci/run installs), else `postgres` on PATH.
 *
 * initdb and postgres refuse to run as root ("cannot be run as root"), so as root (CI, containers)
 * the server runs as the unprivileged `nobody` user (child_process uid/gid; libuv drops the
 * supplementary groups) in a directory that user owns; otherwise as the current user.
 *
 * Authentication is `trust` on this private server, so any role the tests create can log in; the
 * roles and grants of the registry are what the tests check, not passwords.
 *
 * When no server can start: in CI (CI set) or with TFM_PROVISION_REQUIRE_PG=1 the tests fail;
 * otherwise `startPostgres()` resolves undefined and the caller skips with the reason printed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PostgresServer {
  readonly port: number;
  readonly dataDir: string;
  /** URL of the superuser (owner of the database `registry`). */
  readonly adminUrl: string;
  url(user: string, database?: string, password?: string): string;
  /** Runs SQL as the superuser on `database` (default `registry`). */
  sql(text: string, database?: string): Promise<Array<Record<string, unknown>>>;
  /** Stops the server (fast shutdown); `start()` starts it again on the same directory and port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export function pgRequired(): boolean {
  return (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== '0' && process.env.CI !== 'false') || process.env.TFM_PROVISION_REQUIRE_PG === '1';
}

function findBinDir(): string | undefined {
  const fromEnv = process.env.TFM_PROVISION_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const base = '/usr/lib/postgresql';
  try {
    const versions = fs
      .readdirSync(base)
      .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(base, versions[0]!, 'bin');
  } catch {
    // not a Debian layout
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && fs.existsSync(path.join(dir, 'postgres')) && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class LocalPostgres implements PostgresServer {
  private child?: ChildProcess;
  private log = '';
  readonly adminUrl: string;

  constructor(
    private readonly bin: string,
    private readonly root: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {
    this.adminUrl = this.url('postgres');
  }

  url(user: string, database = 'registry', password?: string): string {
    const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return `postgresql://${auth}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    this.log = '';
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.root, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
    const child = spawn(path.join(this.bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(this.user ?? {}) });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${this.log.slice(-2000)}`);
      if (await this.accepts()) return;
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in 30 s: ${this.log.slice(-2000)}`);
      await sleep(100);
    }
  }

  private async accepts(): Promise<boolean> {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Client } = require('pg') as typeof import('pg');
    const client = new Client({ connectionString: this.url('postgres', 'postgres') });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async sql(text: string, database = 'registry'): Promise<Array<Record<string, unknown>>> {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Client } = require('pg') as typeof import('pg');
    const client = new Client({ connectionString: this.url('postgres', database) });
    await client.connect();
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT'); // fast shutdown: open sessions are ended
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Starts a private server with an empty database `registry`; undefined (with the reason on stderr) when none can start and none is required. */
export async function startPostgres(): Promise<PostgresServer | undefined> {
  const bin = findBinDir();
  let root: string | undefined;
  try {
    if (bin === undefined) throw new Error('no PostgreSQL server binaries (install Debian\'s postgresql package, or set TFM_PROVISION_PG_BIN)');
    const user = unprivilegedUser();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-pg-'));
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    if (user !== undefined) {
      fs.chownSync(root, user.uid, user.gid);
      fs.chownSync(dataDir, user.uid, user.gid);
    }
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
      ...(user ?? {}),
    });
    const server = new LocalPostgres(bin, root, dataDir, await freePort(), user);
    await server.start();
    await server.sql('CREATE DATABASE registry', 'postgres');
    return server;
  } catch (error) {
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
    const reason = `PostgreSQL test server could not start: ${(error as Error).message}`;
    if (pgRequired()) throw new Error(`${reason} (required: CI or TFM_PROVISION_REQUIRE_PG=1)`);
    process.stderr.write(`SKIPPED registry tests: ${reason}\n`);
    return undefined;
  }
}

/**
 * `test` for a body that needs the server: when none could start locally (and none is required),
 * the body does not run; startPostgres() has printed why.
 */
export function pgTest(server: () => PostgresServer | undefined, name: string, body: () => Promise<void>, timeout?: number): void {
  test(
    name,
    async () => {
      if (server() === undefined) return;
      await body();
    },
    timeout,
  );
}
