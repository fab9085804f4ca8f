import type { Shutdown } from './shutdown';

/** The streams, environment and directory a CLI run works with: process.* by default, captured in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The run's one shutdown path (signals, broken output); runCli() creates it when absent. */
  shutdown?: Shutdown;
}

export function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
