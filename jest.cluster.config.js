/**
 * `npm run test:cluster`: the integration essentials on the multi-service Temporal cluster on PostgreSQL
 * (cluster/), built by cluster/build-temporal.sh. The files under test/cluster/ run only with this
 * configuration (test/cluster/stack.ts reads the variable); a plain `jest` run skips them.
 *
 * The fleet test (3 workers, 20 accounts on rotating refresh tokens, 10 SIGKILLs) runs only with
 * ZENDESK_EXPORT_FLEET_TEST=1: a worker killed between Zendesk's token answer and the registry's commit
 * loses that account's grant (RELIABILITY.md, known limits), and with 20 accounts refreshing that moment
 * is hit now and then, so it is not yet a test that passes every time.
 */
const base = require('./jest.config');

process.env.ZENDESK_EXPORT_CLUSTER_SUITE = '1';

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.ZENDESK_EXPORT_FLEET_TEST === '1' ? [] : ['<rootDir>/test/cluster/fleet.test.ts'])],
  testTimeout: 10 * 60_000,
};
