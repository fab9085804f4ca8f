/** Jest runs the TypeScript sources through ts-jest (CommonJS). @noble/* 2.x is ESM-only, so it is
 *  transformed too instead of being left to Node's CommonJS loader. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
    '^.+\\.js$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  reporters: ['default', '<rootDir>/test/support/totals-reporter.js'],
  testTimeout: 60000,
};
