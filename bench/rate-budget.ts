/**
 * Rate-budget use: four resources of one account exported at once against a simulator limited to
 * 60 requests per 10 s (all on the incremental-exports bucket). Prints the requests accepted in each full
 * window, the share of the budget used, and the 429 count. The wait for the measured windows has a
 * deadline: exports that stall fail the benchmark with a sentence instead of holding it for ever.
 */
import { RESOURCES } from '../zendesk/endpoints';
import { budgetUse, median, print, startBench } from './harness';

const LIMIT = { requests: 60, seconds: 10 };
const WINDOWS = 6;
/** The measured windows plus start-up take (WINDOWS + 2) windows at full use; twice that means the exports stalled. */
const MEASURE_DEADLINE_MS = 2 * (WINDOWS + 2) * LIMIT.seconds * 1000;

export async function rateBudget(runs = 3): Promise<void> {
  const uses: number[] = [];
  let throttled = 0;
  for (let run = 0; run < runs; run++) {
    const account = `budget${run}`;
    // Enough records that every export outlasts the measured windows.
    const bench = await startBench(
      { sizes: { tickets: 20_000, users: 20_000, organizations: 20_000, ticket_events: 20_000 }, rateLimits: { 'incremental-exports': LIMIT } },
      { accounts: [account] },
    );
    try {
      const handles = await bench.client.startMany(
        RESOURCES.map((resource) => ({
          account,
          resource,
          mode: 'time' as const, // users time-based, so all four share one bucket
          startTime: 0,
          perPage: 50,
          destination: bench.out,
          rateLimit: LIMIT,
        })),
      );
      const key = `default:incremental-exports`;
      const wanted = LIMIT.requests * (WINDOWS + 2);
      const accepted = () => bench.sim.stats().acceptedAt[key]?.length ?? 0;
      for (const deadline = Date.now() + MEASURE_DEADLINE_MS; accepted() < wanted; ) {
        if (Date.now() > deadline) {
          throw new Error(`rate-budget: the simulator accepted ${accepted()} of the ${wanted} requests needed within ${MEASURE_DEADLINE_MS / 1000}s; the exports stalled.`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const times = bench.sim.stats().acceptedAt[key]!;
      throttled += bench.sim.stats().statuses[429] ?? 0;
      // Full windows after the first (the first includes start-up).
      const start = times[0]! + LIMIT.seconds * 1000;
      const perWindow: number[] = [];
      for (let w = 0; w < WINDOWS; w++) {
        const from = start + w * LIMIT.seconds * 1000;
        perWindow.push(times.filter((t) => t >= from && t < from + LIMIT.seconds * 1000).length);
      }
      const use = budgetUse(times, LIMIT, start, start + (WINDOWS + 1) * LIMIT.seconds * 1000);
      print(`  run ${run + 1}: requests per window ${perWindow.join(' ')}; use ${use.toFixed(3)} (window ÷ the period in which the budget was spent)`);
      uses.push(use);
      for (const h of handles) await h.cancel();
    } finally {
      await bench.close();
    }
  }
  print(`rate-budget: median use ${median(uses).toFixed(3)} of ${LIMIT.requests}/${LIMIT.seconds}s over ${WINDOWS} windows, ${runs} runs; 429s: ${throttled}`);
}
