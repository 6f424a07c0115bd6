/**
 * `npm run test:cluster`: the integration essentials on the multi-service Temporal cluster on PostgreSQL
 * (cluster/), built by cluster/build-temporal.sh. The files under test/cluster/ run only with this
 * configuration (test/cluster/stack.ts reads the variable); a plain `jest` run skips them.
 */
const base = require('./jest.config');

process.env.ZENDESK_EXPORT_CLUSTER_SUITE = '1';

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 10 * 60_000,
};
