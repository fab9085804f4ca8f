/**
 * Output for commands, in two modes over one interface:
 * - human: text lines on stdout, warnings and notes on stderr;
 * - JSON Lines (--json): one JSON object per line on stdout, each with a "type" and the stream's
 *   "schema" version (docs/json.md), the last one {"type":"result",...}; nothing else goes to
 *   stdout (errors still get their one line on stderr).
 * Byte arrays never reach the output: the serializer replaces them with a marker, so a mistake
 * upstream cannot print key material.
 */
import { TfmError, asTfmError } from '../errors';
import type { CliIo } from './io';

/**
 * The version of the JSON Lines stream (docs/json.md): raised only for a change a consumer written
 * for the previous version could misread (a field removed, renamed or given another meaning or
 * type, a value's spelling changed); new fields and new line types keep it.
 */
export const JSON_SCHEMA_VERSION = 1;

/** A line of the stream: its type first, then the schema version, then the fields. */
export function streamLine(line: { type: string } & Record<string, unknown>): Record<string, unknown> {
  const { type, schema: _schema, ...rest } = line;
  return { type, schema: JSON_SCHEMA_VERSION, ...rest };
}

export interface CommandOutput {
  readonly json: boolean;
  /** JSON mode: the object as one line (it must have a "type"). Human mode: nothing. */
  event(event: { type: string }): void;
  /** Human mode: a line on stdout. JSON mode: nothing. */
  line(text?: string): void;
  /** Human mode: "warning: ..." on stderr. JSON mode: a {"type":"warning"} line. */
  warn(message: string, code?: string): void;
  /** Human mode: a line on stderr. JSON mode: nothing. */
  note(text: string): void;
  /** JSON mode: the final {"type":"result",...} line. Human mode: nothing. */
  result(result: Record<string, unknown>): void;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array || ArrayBuffer.isView(value)) return '<bytes withheld>';
  if (typeof value === 'bigint') return '<bigint withheld>';
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(_key);
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** One JSON line. Uint8Arrays and Buffers are withheld (see above). */
export function jsonLine(value: unknown): string {
  // Buffer#toJSON runs before the replacer sees the value; neutralise it first.
  return `${JSON.stringify(value, function (this: Record<string, unknown>, key: string) {
    return replacer(key, this[key]);
  })}\n`;
}

export function createOutput(io: Pick<CliIo, 'stdout' | 'stderr'>, options: { json?: boolean }): CommandOutput {
  const json = options.json === true;
  return {
    json,
    event(event) {
      if (json) io.stdout.write(jsonLine(streamLine(event)));
    },
    line(text = '') {
      if (!json) io.stdout.write(`${text}\n`);
    },
    warn(message, code) {
      if (json) io.stdout.write(jsonLine(streamLine({ type: 'warning', ...(code ? { code } : {}), message })));
      else io.stderr.write(`warning: ${message}\n`);
    },
    note(text) {
      if (!json) io.stderr.write(`${text}\n`);
    },
    result(result) {
      if (json) io.stdout.write(jsonLine(streamLine({ type: 'result', ...result })));
    },
  };
}

/** "label ....... value" lines for summaries, aligned on the longest label. */
export function formatFields(fields: Array<[string, string | undefined]>, indent = '  '): string[] {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`);
}

/** A plain text table: columns padded to their widest cell. */
export function formatTable(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}`.trimEnd());
}

/** 1234.5 ms -> "1.23 s", 12.3 -> "12.3 ms". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** A failed result's error as the TfmError the command exits with (its code picks the exit code). */
export function errorOf(result: { error?: { code: string; message: string; details?: Record<string, unknown> }; afterWrite?: boolean }): TfmError {
  const e = result.error;
  return new TfmError((e?.code as TfmError['code']) ?? 'INTERNAL_ERROR', e?.message ?? 'failed', { afterWrite: result.afterWrite ?? false, details: e?.details });
}

/**
 * Runs a command body so that with --json the last stdout line is always a {"type":"result"}
 * line, also when the command fails before it could write its own (usage, probe selection, lock).
 */
export async function withResultLine(out: CommandOutput, command: string, body: (done: () => void) => Promise<void>): Promise<void> {
  let written = false;
  try {
    await body(() => {
      written = true;
    });
  } catch (error) {
    const e = asTfmError(error);
    if (!written) out.result({ command, ok: false, errorCode: e.code, error: e.toJSON() });
    throw e;
  }
}
