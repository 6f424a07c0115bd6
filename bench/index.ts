/**
 * `npm run bench [-- name ...]`: prints the figures recorded in BENCHMARKS.md. Names: rate-budget,
 * overhead, memory, many-accounts, follow-fleet, page-cost, recovery, worker-start. Each runs against the simulator on a real Temporal dev server.
 */
import { followFleet } from './follow-fleet';
import { manyAccounts } from './many-accounts';
import { memory } from './memory';
import { overhead } from './overhead';
import { pageCost } from './page-cost';
import { rateBudget } from './rate-budget';
import { recovery } from './recovery';
import { workerStart } from './worker-start';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  'rate-budget': () => rateBudget(),
  overhead: () => overhead(),
  memory: () => memory(),
  'many-accounts': () => manyAccounts(),
  'follow-fleet': () => followFleet(),
  'page-cost': () => pageCost(),
  recovery: () => recovery(),
  'worker-start': () => workerStart(),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHMARKS);
  for (const name of names) {
    const run = BENCHMARKS[name];
    if (!run) throw new Error(`Unknown benchmark "${name}". Choose from: ${Object.keys(BENCHMARKS).join(', ')}.`);
    process.stdout.write(`== ${name}\n`);
    await run();
  }
  process.exit(0);
}

// Servers and worker processes die with this process (their watchdogs see it go).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
