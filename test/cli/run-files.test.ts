/**
 * The files of a run (issue 14, "paths that destroy files", "hangs and crashes on odd files"):
 * everything a run reads or writes is checked before the probe opens, a file that is not a
 * record chain is refused and left unchanged, no two paths are one file, symlinks stay links, and
 * FIFOs, devices and huge images are refused by stat instead of hanging or filling memory.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/program';
import { EXIT } from '../../lib/exit-codes';
import { RecordWriter, verifyRecordFile } from '../../lib/records';
import { captureIo } from './support/io';
import { ensureBuilt, jsonLines, runCliProcess } from './support/cli';

let dir: string;
let keyFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-run-files-'));
  keyFile = path.join(dir, 'keys', 'station-key.pem');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo({ cwd: dir, env: { TFM_PROVISION_STATION_KEY: keyFile, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') } });
  const code = await runCli(args, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

// A seed per run: one seed gives every device the same key, which verify rightly flags.
let runs = 0;
const provision = (...extra: string[]) => run(['provision', '--seed', `files-${++runs}`, ...extra]);
const at = (name: string) => path.join(dir, name);
const mkfifo = (name: string): string => {
  execFileSync('mkfifo', [at(name)]);
  return at(name);
};

describe('the record file is a record chain or empty, else refused and left unchanged', () => {
  it.each([
    ['a JSON file with a newline', '{"device": "config", "retries": 3}\n'],
    ['a JSON file without a final newline (not an "interrupted append")', '{"device": "config", "retries": 3}'],
    ['a text file', 'hello\nworld'],
  ])('%s', async (_what, content) => {
    fs.writeFileSync(at('config.json'), content);
    const r = await provision('--sim', 'dev.json', '--records', 'config.json');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('RECORDS_INVALID');
    expect(fs.readFileSync(at('config.json'), 'utf8')).toBe(content);
    expect(fs.existsSync(at('dev.json'))).toBe(false);
  });

  it('a record chain with a torn last line is repaired, and the run appends after it', async () => {
    expect((await provision('--sim', 'a.json', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    fs.appendFileSync(at('r.jsonl'), '{"v":1,"type":"inte');
    const r = await provision('--sim', 'b.json', '--records', 'r.jsonl');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toContain('cut off 19 bytes of an interrupted append');
    expect(await verifyRecordFile(at('r.jsonl'))).toMatchObject({ ok: true, intents: 2, results: 2 });
  });
});

describe('no two paths of a run are one file', () => {
  it('--export-public-key naming the record file is refused before the device, records unchanged', async () => {
    expect((await provision('--sim', 'a.json', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    const before = fs.readFileSync(at('r.jsonl'));
    const r = await provision('--sim', 'b.json', '--records', 'r.jsonl', '--export-public-key', './r.jsonl');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('FILE_CONFLICT');
    expect(fs.readFileSync(at('r.jsonl'))).toEqual(before);
    expect(fs.existsSync(at('b.json'))).toBe(false);
  });

  it('--records naming the --sim state file (also through a symlink) is refused', async () => {
    fs.symlinkSync('dev.json', at('alias.jsonl'));
    for (const records of ['dev.json', 'alias.jsonl']) {
      const r = await provision('--sim', 'dev.json', '--records', records);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('FILE_CONFLICT');
    }
    expect(fs.existsSync(at('dev.json'))).toBe(false);
  });

  it('records export X -o X, and -o a symlink to X, leave the records as they were', async () => {
    expect((await provision('--sim', 'a.json', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    const before = fs.readFileSync(at('r.jsonl'));
    fs.symlinkSync('r.jsonl', at('link.csv'));
    for (const out of ['r.jsonl', 'link.csv']) {
      const r = await run(['records', 'export', 'r.jsonl', '--csv', '-o', out]);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('FILE_CONFLICT');
    }
    expect(fs.readFileSync(at('r.jsonl'))).toEqual(before);
    expect(fs.lstatSync(at('link.csv')).isSymbolicLink()).toBe(true);
  });
});

describe('station: the record file against the simulated devices\' state files (a child process, as a rig runs it)', () => {
  beforeAll(() => ensureBuilt());
  const station = (...args: string[]) =>
    runCliProcess(['station', '--json', ...args], { cwd: dir, env: { ...process.env, TFM_PROVISION_STATION_KEY: keyFile, TFM_PROVISION_LOCK_DIR: at('locks') } });
  const refused = (r: { code: number | null; stdout: string; stderr: string }, first: string, second: string): void => {
    expect(r.code).toBe(EXIT.USAGE);
    expect(jsonLines(r.stdout).pop()).toMatchObject({ type: 'result', ok: false, errorCode: 'FILE_CONFLICT', error: { details: { first, second } } });
    // Refused before a probe opened: the station never started (no station or device line).
    expect(jsonLines(r.stdout).map((l) => l.type)).toEqual(['result']);
  };

  it('--records naming a device\'s state file in --sim-state-dir: FILE_CONFLICT before the fleet is made (no state file written)', async () => {
    const r = await station('--sim-count', '2', '--sim-state-dir', 'sd', '--records', path.join('sd', '100000001.json'));
    refused(r, '--records', '--sim-state-dir device 100000001');
    expect(fs.existsSync(at('sd'))).toBe(false);
  });

  it('--records reached through a state file that is a symlink to it: FILE_CONFLICT, the records unchanged', async () => {
    expect((await station('--sim-count', '1', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    const before = fs.readFileSync(at('r.jsonl'));
    fs.mkdirSync(at('sd'));
    fs.symlinkSync(path.join('..', 'r.jsonl'), at(path.join('sd', '100000002.json')));
    const r = await station('--sim-count', '3', '--sim-state-dir', 'sd', '--records', 'r.jsonl');
    refused(r, '--records', '--sim-state-dir device 100000002');
    expect(fs.readFileSync(at('r.jsonl'))).toEqual(before);
    expect(fs.readdirSync(at('sd'))).toEqual(['100000002.json']);
  });

  it('--records naming the --sim-state-dir directory itself: FILE_CONFLICT, nothing created', async () => {
    const r = await station('--sim-count', '1', '--sim-state-dir', 'sd', '--records', 'sd');
    refused(r, '--records', '--sim-state-dir');
    expect(fs.existsSync(at('sd'))).toBe(false);
  });

  it('station --sim FILE --records FILE: FILE_CONFLICT, the state file unchanged', async () => {
    expect((await run(['sim', 'create', 'dev.json', '--chip', 'nrf9160'])).code).toBe(EXIT.OK);
    const before = fs.readFileSync(at('dev.json'));
    const r = await station('--sim', 'dev.json', '--records', 'dev.json');
    refused(r, '--records', '--sim');
    expect(fs.readFileSync(at('dev.json'))).toEqual(before);
  });

  it('two devices of the state directory that are one file (a symlink): FILE_CONFLICT, also with --no-records', async () => {
    fs.mkdirSync(at('sd'));
    expect((await run(['sim', 'create', path.join('sd', '100000001.json'), '--chip', 'nrf5340'])).code).toBe(EXIT.OK);
    fs.symlinkSync('100000001.json', at(path.join('sd', '100000002.json')));
    const before = fs.readFileSync(at(path.join('sd', '100000001.json')));
    const r = await station('--sim-count', '2', '--sim-state-dir', 'sd', '--no-records');
    refused(r, '--sim-state-dir device 100000001', '--sim-state-dir device 100000002');
    expect(fs.readFileSync(at(path.join('sd', '100000001.json')))).toEqual(before);
  });
});

describe('symlinks stay links', () => {
  it('--sim link.json writes the device to the link\'s target and keeps the link', async () => {
    fs.mkdirSync(at('devices'));
    fs.symlinkSync(path.join('devices', 'board.json'), at('link.json'));
    expect((await provision('--sim', 'link.json', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    expect(fs.lstatSync(at('link.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(at('devices/board.json'), 'utf8'))).toHaveProperty('chip');
    // Loaded through the link on the next run: it is provisioned now.
    const again = await run(['verify', '--sim', 'link.json', '--json']);
    expect(again.code).toBe(EXIT.OK);
    expect(fs.readdirSync(at('devices'))).toEqual(['board.json']);
  });
});

describe('FIFOs, devices and huge files are refused by stat, never opened to block', () => {
  it('--records naming a FIFO', async () => {
    mkfifo('r.fifo');
    const r = await provision('--sim', 'dev.json', '--records', 'r.fifo');
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(/FILE_ERROR.*FIFO/);
    expect(fs.existsSync(at('dev.json'))).toBe(false);
  });

  it('--export-public-key naming a FIFO is refused before the device, not after provisioning', async () => {
    mkfifo('key.pem');
    const r = await provision('--sim', 'dev.json', '--records', 'r.jsonl', '--export-public-key', 'key.pem');
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(/FILE_ERROR.*FIFO/);
    expect(fs.existsSync(at('dev.json'))).toBe(false);
  });

  it('--sim naming a FIFO', async () => {
    mkfifo('dev.json');
    const r = await provision('--sim', 'dev.json', '--no-records');
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(/FILE_ERROR.*FIFO/);
  });

  it.each([
    ['/dev/zero', () => '/dev/zero', /IMAGE_INVALID.*(character device|not a regular file)/],
    ['a FIFO', () => mkfifo('image.hex'), /IMAGE_INVALID.*(FIFO|not a regular file)/],
    ['a 600 MB sparse file (refused by its size, unread)', () => {
      const fd = fs.openSync(at('huge.hex'), 'w');
      fs.ftruncateSync(fd, 600 * 1024 * 1024);
      fs.closeSync(fd);
      return at('huge.hex');
    }, /IMAGE_INVALID.*629145600 bytes/],
  ])('--image naming %s', async (_what, make, message) => {
    const image = make();
    const r = await provision('--sim', 'dev.json', '--no-records', '--strategy', 'image', '--image', image);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(at('dev.json'))).toBe(false);
  });
});

describe('records verify says what a file is', () => {
  it('random bytes are an error, not "chain intact, 0 records"', async () => {
    const bytes = Buffer.alloc(5 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    fs.writeFileSync(at('random.bin'), bytes);
    const r = await run(['records', 'verify', 'random.bin']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('RECORDS_INVALID');
    expect(r.stdout).not.toContain('intact');
  });

  it('an empty file has no records: RECORDS_EMPTY, not intact', async () => {
    fs.writeFileSync(at('empty.jsonl'), '');
    const r = await run(['records', 'verify', 'empty.jsonl']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('RECORDS_EMPTY');
  });

  it('a run\'s records verify with the station public key from records init; a forged copy does not', async () => {
    expect((await provision('--sim', 'a.json', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    const init = await run(['records', 'init', '--public-key-out', 'station.pub']);
    expect(init.code).toBe(EXIT.OK);
    expect(init.stdout).toContain('BEGIN PUBLIC KEY');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const ok = await run(['records', 'verify', 'r.jsonl', '--public-key', 'station.pub']);
    expect(ok.code).toBe(EXIT.OK);
    expect(ok.stdout).toContain('signed by station key');

    const chainOnly = await run(['records', 'verify', 'r.jsonl']);
    expect(chainOnly.code).toBe(EXIT.OK);
    expect(chainOnly.stderr).toContain('warning: chain only');

    // Forged: the result's public key swapped, the signature removed, the chain recomputed.
    const lines = fs.readFileSync(at('r.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const { createHash } = await import('node:crypto');
    let prev = '0'.repeat(64);
    const forged = lines.map((record) => {
      const { sig: _sig, keyId: _keyId, ...rest } = record;
      const line = JSON.stringify({ ...rest, prev });
      prev = createHash('sha256').update(line).digest('hex');
      return line;
    });
    fs.writeFileSync(at('forged.jsonl'), `${forged.join('\n')}\n`);
    const bad = await run(['records', 'verify', 'forged.jsonl', '--public-key', 'station.pub']);
    expect(bad.code).toBe(EXIT.FAILED_AFTER_WRITE);
    expect(bad.stderr).toContain('RECORDS_SIGNATURE_INVALID');
    const exported = await run(['records', 'export', 'forged.jsonl', '--public-key', 'station.pub']);
    expect(exported.code).not.toBe(EXIT.OK);
    expect(exported.stdout).toBe('');
  });
});

describe('a full disk is FILE_ERROR and leaves no temporary file', () => {
  it('records on a full filesystem (a 64 KiB tmpfs): FILE_ERROR before the first device write, no *.tmp left', async () => {
    const mnt = at('full');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      // Not allowed here (not root, or in a container without mount): the injected ENOSPC test below covers the mapping.
      console.warn('tmpfs mount not permitted: full-disk test on a real filesystem skipped');
      return;
    }
    try {
      // Fill it, leaving no room for a record line.
      try {
        fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(256 * 1024));
      } catch {
        // ENOSPC: full, as wanted
      }
      const r = await provision('--sim', 'dev.json', '--records', path.join(mnt, 'r.jsonl'));
      expect(r.code).toBe(EXIT.ENVIRONMENT);
      expect(r.stderr).toMatch(/FILE_ERROR.*(full|ENOSPC)/);
      expect(fs.readdirSync(mnt).filter((n) => n.endsWith('.tmp') || n.includes('.lock'))).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('an ENOSPC while taking the append lock (injected: the write fails after the create) is FILE_ERROR, not INTERNAL_ERROR', async () => {
    const file = at('r.jsonl');
    const writer = await RecordWriter.open(file);
    // The lock's content is written through fs.writeFile's callback API (lib/records/lockfile.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require('node:fs') as typeof fs; // the module object itself (the namespace import's properties are fixed)
    const realWriteFile = nodeFs.writeFile;
    const spy = jest.spyOn(nodeFs, 'writeFile').mockImplementation(((target: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      const callback = rest[rest.length - 1] as (error: NodeJS.ErrnoException | null) => void;
      if (String(target).endsWith('.tmp')) {
        realWriteFile(target, '', () => callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
        return;
      }
      (realWriteFile as (...a: unknown[]) => void)(target, ...rest);
    }) as typeof fs.writeFile);
    try {
      await expect(writer.result({ attempt: 'a', tool: { name: 't', version: '0' }, probeSerial: 1, backend: 'sim', simulated: true, startedAt: '', outcome: 'refused', verified: false, wroteDevice: false, finishedAt: '', durationMs: 0 })).rejects.toMatchObject({
        code: 'FILE_ERROR',
        message: expect.stringContaining('full'),
      });
    } finally {
      spy.mockRestore();
    }
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.includes('.lock'))).toEqual([]);
  });
});
