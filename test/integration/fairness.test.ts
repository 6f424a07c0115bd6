/**
 * Fairness under overload, on a real dev server (launched with task-queue fairness on, as every server
 * of the project is: devserver/index.ts SERVER_DYNAMIC_CONFIG). Ten accounts backfill at once through a
 * worker with a single activity slot, so their batches queue behind each other; an eleventh account has
 * caught up and follows. Asserted: every follow poll is scheduled with the follow priority and its
 * account as fairness key, and every poll is served while the backfills still hold the queue (none
 * starves). Not asserted: how many backfill batches a poll waits behind. Measured here it was 1.6–2.6
 * accounts on average with priority and 2.4–4.75 without, too close to tell apart run by run on this
 * setup; BENCHMARKS.md reports it.
 */
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../../devserver/stack';
import { BATCH_PRIORITY } from '../../workflows/priority';

const BACKFILLING = Array.from({ length: 10 }, (_, i) => `big${i + 1}`);
const FOLLOWING = 'quiet';
const POLLS = 6;

let stack: Stack;
let temporal: Client;

beforeAll(async () => {
  stack = await startStack({
    accounts: [...BACKFILLING, FOLLOWING],
    // Every answer takes 50 ms, so a run of 20 pages holds the slot for a second or more.
    simulator: { accounts: [...BACKFILLING, FOLLOWING], sizes: { tickets: 5000, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: 'off', faults: { latencyMs: 50 } },
    client: { startTimeoutMs: 120_000 },
  });
  const connection = await Connection.connect({ address: stack.address });
  stack.teardown.add(() => connection.close());
  temporal = new Client({ connection, namespace: stack.namespace });
  // Each account its own simulated Zendesk (its requests logged under its name).
  const env = stack.workerEnv([...BACKFILLING, FOLLOWING], { perAccount: true });
  await stack.startWorker({ activities: { env }, worker: { maxConcurrentActivityTaskExecutions: 1 } });
}, 180_000);
afterAll(() => stack?.close());

/** When each request of each account reached the simulator. */
function requestTimes(): Map<string, number[]> {
  const byAccount = new Map<string, number[]>();
  for (const [key, times] of Object.entries(stack.sim!.stats().acceptedAt)) byAccount.set(key.split(':')[0]!, times);
  return byAccount;
}

/** A follow poll: when it was scheduled, with which priority, and when its request reached Zendesk. */
type Poll = { scheduled: number; served: number; priorityKey: number | null | undefined; fairnessKey: string | null | undefined };

/** When each run of pages after the first (which catches up) was scheduled, and its priority key. */
async function followPollsScheduled(workflowId: string): Promise<{ at: number; priorityKey?: number | null; fairnessKey?: string | null }[]> {
  const runs = ((await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((event) => event.activityTaskScheduledEventAttributes);
  return runs.slice(1).map((event) => ({
    at: Number(event.eventTime!.seconds) * 1000 + Math.floor((event.eventTime!.nanos ?? 0) / 1e6),
    priorityKey: event.activityTaskScheduledEventAttributes!.priority?.priorityKey,
    fairnessKey: event.activityTaskScheduledEventAttributes!.priority?.fairnessKey,
  }));
}

test('a follow poll goes out with the follow priority and its account as fairness key, and is served while other accounts\' backfills hold the queue', async () => {
  const backfill = { requests: 20, seconds: 10 };
  await stack.client.startMany(BACKFILLING.map((account) => ({ account, resource: 'tickets' as const, startTime: 0, perPage: 20, destination: stack.out, rateLimit: backfill })));
  // Caught up at once (nothing newer than two minutes ago but a ticket or two), then a poll every second.
  const quiet = await stack.client.start({
    account: FOLLOWING, resource: 'tickets', startTime: Math.floor(Date.now() / 1000) - 120, destination: stack.out, rateLimit: backfill, followIntervalSeconds: 1,
  });

  // Wait (by events) until enough follow polls have been answered while the backfills still run.
  let polls: Poll[] = [];
  for (;;) {
    const served = requestTimes().get(FOLLOWING) ?? [];
    polls = (await followPollsScheduled(quiet.workflowId))
      .map(({ at, priorityKey, fairnessKey }) => ({ scheduled: at, priorityKey, fairnessKey, served: served.find((t) => t >= at) }))
      .filter((p): p is Poll => p.served !== undefined);
    if (polls.length >= POLLS) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(polls.map((p) => p.priorityKey)).toEqual(polls.map(() => BATCH_PRIORITY.follow));
  expect(polls.map((p) => p.fairnessKey)).toEqual(polls.map(() => FOLLOWING));
  // The backfills were still going after the last measured poll (the queue was full throughout): a
  // backfill request comes after it (the slot is free again once the poll's batch is done).
  const lastPoll = polls[POLLS - 1]!.served;
  const backfilledAfter = () => BACKFILLING.some((a) => (requestTimes().get(a) ?? []).some((t) => t > lastPoll));
  while (!backfilledAfter()) await new Promise((r) => setTimeout(r, 200));
  const times = requestTimes();

  // The backfills did queue for the slot: several accounts made requests during the measured polls.
  const span = { from: polls[0]!.scheduled, to: polls[POLLS - 1]!.served };
  expect(BACKFILLING.filter((a) => (times.get(a) ?? []).some((t) => t > span.from && t < span.to)).length).toBeGreaterThan(1);
}, 300_000);
