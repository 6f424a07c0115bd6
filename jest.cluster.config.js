/** `npm run test:cluster`: the multi-service Temporal cluster on PostgreSQL (cluster/), built by cluster/build-temporal.sh. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testTimeout: 10 * 60_000,
};
