/** `npm run chaos`: the fault scenarios of test/chaos, one after another, with their figures printed at the end. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts'],
  globalSetup: '<rootDir>/test/chaos/setup.ts',
  globalTeardown: '<rootDir>/test/chaos/report.ts',
  testTimeout: 15 * 60_000,
};
