/**
 * docs/errors.md lists every error code with its category and exit code. The table is read as a
 * user reads it and compared with lib/errors.ts and exitCodeFor(): a code added to ERROR_CODES
 * without a row, a row for a code that does not exist, or a wrong exit code fails here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, TfmError, type ErrorCode } from '../../lib/errors';
import { exitCodeFor } from '../../lib/exit-codes';

const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Row {
  code: string;
  category: string;
  exit: number;
  meaning: string;
}

function tableRows(text: string): Row[] {
  return text
    .split('\n')
    .map((line) => /^\| `([A-Z0-9_]+)` \| ([a-z]+) \| (\d+) \| (.+) \|$/u.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ code: m[1]!, category: m[2]!, exit: Number(m[3]), meaning: m[4]! }));
}

const rows = tableRows(read('docs/errors.md'));

test('docs/errors.md has one row per code of ERROR_CODES, none more', () => {
  const codes = rows.map((r) => r.code);
  expect(new Set(codes).size).toBe(codes.length);
  expect([...codes].sort()).toEqual(Object.keys(ERROR_CODES).sort());
});

test('each row gives the code category and the exit code the CLI exits with for it (before a write)', () => {
  for (const row of rows) {
    const code = row.code as ErrorCode;
    expect({ code, category: row.category, exit: row.exit }).toEqual({ code, category: ERROR_CODES[code], exit: exitCodeFor(new TfmError(code, 'x')) });
    expect(row.meaning.length).toBeGreaterThan(10);
  }
});

test('the README points to the list', () => {
  expect(read('README.md')).toMatch(/docs\/errors\.md gives each code's exit code/u);
});

