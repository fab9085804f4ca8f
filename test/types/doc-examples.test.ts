/**
 * Every ```ts block in README.md and docs/*.md compiles against the built package's typings
 * (issue 15: "the examples in docs compile"). A block is compiled as its own module; a fragment
 * without imports gets the package's main names imported, and the few free names fragments use
 * (session, device, image, ...) are declared in test/types/fixtures/doc-globals.d.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, scratchProject, typeErrors } from './typecheck';

const FRAGMENT_IMPORTS = "import { provision, verify, inspect, preflight, runStation, RecordWriter, AttemptRecorder, NativeBinding } from 'tfm-provision';\n";

function tsBlocks(): { source: string; index: number; code: string }[] {
  const docs = ['README.md', ...fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return docs.flatMap((source) => {
    const text = fs.readFileSync(path.join(repoRoot, source), 'utf8');
    return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, index) => ({ source, index, code: m[1]! }));
  });
}

test('every TypeScript example in the README and docs type-checks against the package', () => {
  const blocks = tsBlocks();
  expect(blocks.length).toBeGreaterThanOrEqual(8);
  const dir = scratchProject('doc-examples');
  const files = blocks.map((b) => {
    const file = path.join(dir, `${b.source.replace(/[/.]/g, '_')}_${b.index + 1}.ts`);
    const imports = /^import /m.test(b.code) ? '' : FRAGMENT_IMPORTS;
    fs.writeFileSync(file, `${imports}${b.code}\nexport {};\n`);
    return file;
  });
  files.push(path.join(__dirname, 'fixtures', 'doc-globals.d.ts'));
  expect(typeErrors(files)).toEqual([]);
});

test('the check can fail: a block with a type error is reported', () => {
  const dir = scratchProject('doc-examples-negative');
  const file = path.join(dir, 'wrong.ts');
  fs.writeFileSync(file, "import { createSimProbe } from 'tfm-provision/testing';\nconst p = createSimProbe({ chip: 'nrf1234' });\nexport {};\n");
  expect(typeErrors([file]).join('\n')).toMatch(/wrong\.ts:2: .*nrf1234/);
});
