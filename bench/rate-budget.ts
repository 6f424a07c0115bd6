/**
 * Rate-budget use: four resources of one account exported at once against a simulator limited to
 * 60 requests per 10 s (all on the incremental-exports bucket). Prints the requests accepted in each full
 * window, the share of the budget used, and the 429 count.
 */
import { RESOURCES } from '../zendesk/endpoints';
import { budgetUse, median, print, startBench } from './harness';

const LIMIT = { requests: 60, seconds: 10 };
const WINDOWS = 6;

export async function rateBudget(runs = 3): Promise<void> {
  const uses: number[] = [];
  let throttled = 0;
  for (let run = 0; run < runs; run++) {
    // Enough records that every export outlasts the measured windows.
    const bench = await startBench({
      sizes: { tickets: 20_000, users: 20_000, organizations: 20_000, ticket_events: 20_000 },
      rateLimits: { 'incremental-exports': LIMIT },
    });
    try {
      const handles = await bench.client.startMany(
        RESOURCES.map((resource) => ({
          account: `budget${run}`,
          resource,
          mode: 'time' as const, // users time-based, so all four share one bucket
          startTime: 0,
          perPage: 50,
          destination: bench.out,
          rateLimit: LIMIT,
        })),
      );
      const key = `default:incremental-exports`;
      while ((bench.sim.stats().acceptedAt[key]?.length ?? 0) < LIMIT.requests * (WINDOWS + 2)) await new Promise((r) => setTimeout(r, 200));
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
