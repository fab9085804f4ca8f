/**
 * Type-checks files against the built package's typings, as a user's project sees them: a
 * `node_modules/tfm-provision` link to this repo, resolved through package.json `exports` and
 * `types` (moduleResolution bundler), strict mode, Jest and Node types.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** A scratch project under test/.tmp with node_modules/tfm-provision linked to the repo. */
export function scratchProject(name: string): string {
  const dir = path.join(repoRoot, 'test', '.tmp', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'tfm-provision'), 'dir');
  return dir;
}

/** Diagnostics of a strict, no-emit compile of `files`, as "file:line: message" strings. */
export function typeErrors(files: string[]): string[] {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.d.ts'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.build.json` (npm test does)');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: ['node', 'jest'],
    typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    skipLibCheck: true,
    esModuleInterop: true,
  };
  const program = ts.createProgram(files, options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.relative(repoRoot, d.file.fileName)}:${line + 1}: ${text}`;
  });
}
