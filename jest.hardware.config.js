/** The hardware checks (test/hardware, docs/hardware-checks.md): run by `npm run test:hardware`
 *  against a real kit, never by `npm test` (their files end in .hardware.ts, which the default
 *  configuration does not match). One device, so one file at a time. */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/hardware'],
  testMatch: ['**/*.hardware.ts'],
  reporters: ['default'],
  maxWorkers: 1,
  testTimeout: 300000,
};
