/**
 * The README's JavaScript examples, run in `npm test` against this checkout as a user's project
 * would load it (node_modules/tfm-provision linked to the repo, no Jest configuration): the
 * CommonJS Jest test under Jest's defaults (babel-jest) and the ES module script under plain node.
 * The consumer test (test/consumer/run.js) runs the same blocks against the packed tarball.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, scratchProject } from './typecheck';

function readmeBlock(file: string): string {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- consumer-test: ${file.replace('.', '\\.')} -->\\s*\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no consumer-test block for ${file}`);
  return m[1]!;
}

test("the README's ES module script runs with node and provisions a simulated device", () => {
  const dir = scratchProject('readme-esm');
  fs.writeFileSync(path.join(dir, 'provision.mjs'), readmeBlock('provision.mjs'));
  const r = spawnSync(process.execPath, ['provision.mjs'], { cwd: dir, encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/^provisioned [0-9a-f]{16} 04[0-9a-f]{128}\n$/);
});

test("the README's JavaScript Jest test passes with Jest's default configuration", () => {
  const dir = scratchProject('readme-jest-js');
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "readme-jest-js", "private": true }\n');
  fs.writeFileSync(path.join(dir, 'provision.test.js'), readmeBlock('provision.test.js'));
  const jest = path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js');
  const r = spawnSync(process.execPath, [jest, '--ci', '--watchman=false'], { cwd: dir, encoding: 'utf8' });
  expect({ status: r.status, summary: /Tests:.*/.exec(r.stderr)?.[0] }).toEqual({ status: 0, summary: expect.stringMatching(/Tests:\s+1 passed, 1 total/) });
});
