/**
 * The end of a command's --help: examples a user can copy, and where the exit and error codes are
 * (the codes themselves are in the program's --help and docs/errors.md, which ships in the package).
 * test/cli/help-examples.test.ts checks that every example names only options its command has.
 */
export function commandHelp(examples: string[]): string {
  return `\nExamples:\n${examples.map((e) => `  ${e}\n`).join('')}\nExit codes: tfm-provision --help. Every error code and what it means: docs/errors.md.\n`;
}
