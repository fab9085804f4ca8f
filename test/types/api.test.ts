/**
 * Pins the public API's types (issue 15): test/types/fixtures/api-usage.ts uses the package the
 * way a user's code branches on it, with `@ts-expect-error` lines for what the types must refuse,
 * and is compiled against the built typings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scratchProject, typeErrors } from './typecheck';

test('the public API compiles as users branch on it, and refuses what it should', () => {
  const dir = scratchProject('api-types');
  const file = path.join(dir, 'api-usage.ts');
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'api-usage.ts'), file);
  expect(typeErrors([file])).toEqual([]);
});
