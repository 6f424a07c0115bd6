import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type * as activities from './activities';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

/** Calls an activity, sleeps, and reports how much workflow time the sleep took. */
export async function sleepAndGreet(name: string, duration: Duration): Promise<{ greeting: string; sleptMs: number }> {
  const greeting = await greet(name);
  const before = Date.now(); // Workflow time: skipped, not waited, on the time-skipping server.
  await sleep(duration);
  return { greeting, sleptMs: Date.now() - before };
}
