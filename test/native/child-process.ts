/** Runs a script of test/native/child in a fresh `node` (for --expose-gc, real env vars, process exit). */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON. */
  json: Record<string, unknown>;
}

export function runChild(script: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; timeoutMs?: number; cwd?: string } = {}): ChildResult {
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), path.join(__dirname, 'child', script), ...args], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    encoding: 'utf8',
    // Generous: only a hung child (the bug these tests look for) gets near it.
    timeout: options.timeoutMs ?? 60_000,
  });
  const lines = (result.stdout ?? '').trim().split('\n');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
  } catch {
    // left empty; the assertions on it will show stdout/stderr
  }
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', json };
}
