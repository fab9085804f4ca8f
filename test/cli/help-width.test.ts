/**
 * `--help` is not broken mid-sentence: commander wraps descriptions to the help width (80 columns
 * when stdout is not a terminal; COLUMNS is not what it reads then), so a description must not
 * carry its own line breaks inside a sentence. A line of a description paragraph may end early
 * only where a sentence ends, or where the next word would not have fitted.
 */
import { ensureBuilt, runCliProcess } from './support/cli';

const WIDTH = 80;
const COMMANDS = [[], ['provision'], ['verify'], ['inspect'], ['recover'], ['list'], ['station'], ['doctor'], ['sim'], ['records'], ['attest']];

beforeAll(() => ensureBuilt());

/** The description: the lines between "Usage:" and the first section heading. */
function description(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Usage:')) + 1;
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][a-z]+:$/u.test(l));
  return lines.slice(start, end === -1 ? undefined : end).filter((l) => l.trim() !== '');
}

test.each(COMMANDS.map((c) => [c.join(' ') || '(program)', c]))('%s --help: no line longer than 80 columns, none cut mid-sentence', async (_name, command) => {
  const run = await runCliProcess([...(command as string[]), '--help'], { env: { ...process.env, COLUMNS: String(WIDTH) } });
  expect(run.code).toBe(0);
  const text = description(run.stdout);
  expect(text.length).toBeGreaterThan(0);
  for (const [i, line] of text.entries()) {
    expect(line.length).toBeLessThanOrEqual(WIDTH);
    const next = text[i + 1];
    if (next === undefined) continue;
    const endsSentence = /[.:;)]$/u.test(line);
    const nextWord = next.trim().split(/\s+/u)[0]!;
    const wouldNotFit = line.length + 1 + nextWord.length > WIDTH;
    if (!endsSentence && !wouldNotFit) throw new Error(`cut mid-sentence: "${line}" / "${next}"`);
  }
});
