/** An in-memory CliIo for running commands in-process. */
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../../lib/cli/io';

export interface CapturedIo {
  io: CliIo;
  stdout(): string;
  stderr(): string;
  stdin: PassThrough & { isTTY?: boolean };
}

export function captureIo(options: { isTTY?: boolean; env?: NodeJS.ProcessEnv; cwd?: string; stdoutTTY?: boolean } = {}): CapturedIo {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  const stderr = new PassThrough();
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = options.isTTY ?? false;
  stdout.isTTY = options.stdoutTTY ?? false;
  stdout.columns = 120;
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    io: { stdout, stderr, stdin, env: options.env ?? { ...process.env }, cwd: options.cwd ?? process.cwd() },
    stdout: () => out,
    stderr: () => err,
    stdin,
  };
}
