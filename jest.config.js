/** Jest runs the TypeScript sources through ts-jest (CommonJS). Nothing in node_modules needs a
 *  transform: the package's dependencies load under Jest's CommonJS runtime as they are (issue 15). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  reporters: ['default', '<rootDir>/test/support/totals-reporter.js'],
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/support/station-key-env.js'],
};
