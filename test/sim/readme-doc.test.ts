/** docs/simulator.md quotes test/sim/readme-example.test.ts verbatim (with the package import path),
 *  so the example users copy is the one this suite runs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test('the README example in docs/simulator.md is the tested example file', () => {
  const root = join(__dirname, '..', '..');
  const doc = readFileSync(join(root, 'docs', 'simulator.md'), 'utf8');
  const marker = doc.indexOf('<!-- example: test/sim/readme-example.test.ts');
  expect(marker).toBeGreaterThanOrEqual(0);
  const block = /```ts\n([\s\S]*?)```/u.exec(doc.slice(marker))![1]!;
  const example = readFileSync(join(__dirname, 'readme-example.test.ts'), 'utf8').replace("from '../../lib/testing'", "from 'tfm-provision/testing'");
  expect(block).toBe(example);
});

test('the package maps tfm-provision/testing to lib/testing', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  expect(pkg.exports['./testing'].default).toBe('./dist/testing.js');
});
