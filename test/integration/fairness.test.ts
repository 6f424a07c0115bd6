/**
 * Fairness under overload, on a real dev server (launched with task-queue fairness on and one partition
 * per task queue, as every dev server of the project is: devserver/index.ts). Ten accounts backfill at
 * once through a worker with a single activity slot, asking for twice the time the slot has, so their
 * batches queue; an eleventh account has caught up and follows, polling every second. Asserted, by
 * events (the workflows' histories and the simulator's log of requests), not by times: every follow
 * poll carries the follow priority and its account as fairness key; each is served behind at most the
 * batch in hand (two other accounts at most between its scheduling and its request); and the polls did
 * jump a queue (backfill batches scheduled before them were served after them). With the server's
 * priority and fairness off (`matching.useNewMatcher=false`, `matching.enableFairness=false`) the same
 * test fails: each poll waited behind 7 or 8 other accounts. The workflows themselves carry their
 * account as fairness key, so their own tasks are handed out account by account as well.
 */
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../../devserver/stack';
import { BATCH_PRIORITY } from '../../workflows/priority';
import { coordinatorWorkflowId } from '../../workflows/ids';

const BACKFILLING = Array.from({ length: 10 }, (_, i) => `big${i + 1}`);
const FOLLOWING = 'quiet';
const POLLS = 10;

let stack: Stack;
let temporal: Client;

beforeAll(async () => {
  stack = await startStack({
    accounts: [...BACKFILLING, FOLLOWING],
    // Every answer takes 100 ms, so a batch of 20 pages holds the slot for two seconds or more: ten accounts
    // ask for twenty seconds of the slot every ten, and their batches queue.
    simulator: { accounts: [...BACKFILLING, FOLLOWING], sizes: { tickets: 5000, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: 'off', faults: { latencyMs: 100 } },
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

/** When each batch of a workflow was scheduled, with its priority: its ActivityTaskScheduled events. */
async function batchesScheduled(workflowId: string): Promise<{ at: number; priorityKey?: number | null; fairnessKey?: string | null }[]> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events
    .filter((event) => event.activityTaskScheduledEventAttributes)
    .map((event) => ({
      at: Number(event.eventTime!.seconds) * 1000 + Math.floor((event.eventTime!.nanos ?? 0) / 1e6),
      priorityKey: event.activityTaskScheduledEventAttributes!.priority?.priorityKey,
      fairnessKey: event.activityTaskScheduledEventAttributes!.priority?.fairnessKey,
    }));
}

/** Of each account's batches, when it was scheduled and when its first request reached Zendesk. */
async function backfillBatches(workflowIds: readonly string[]): Promise<{ account: string; scheduled: number; served: number }[]> {
  const times = requestTimes();
  const batches = await Promise.all(
    workflowIds.map(async (id, i) => {
      const account = BACKFILLING[i]!;
      const served = times.get(account) ?? [];
      return (await batchesScheduled(id)).map(({ at }) => ({ account, scheduled: at, served: served.find((t) => t >= at) ?? Infinity }));
    }),
  );
  return batches.flat();
}

test("an account's follow poll goes ahead of other accounts' queued backfill batches: it waits at most for the batch in hand", async () => {
  const backfill = { requests: 20, seconds: 10 };
  const backfills = await stack.client.startMany(
    BACKFILLING.map((account) => ({ account, resource: 'tickets' as const, startTime: 0, perPage: 20, destination: stack.out, rateLimit: backfill })),
  );
  // Caught up at once (nothing newer than two minutes ago but a ticket or two), then a poll every second.
  const quiet = await stack.client.start({
    account: FOLLOWING, resource: 'tickets', startTime: Math.floor(Date.now() / 1000) - 120, destination: stack.out, rateLimit: backfill, followIntervalSeconds: 1,
  });

  // Wait (by events) until enough follow polls have been answered while the backfills still run.
  let polls: Poll[] = [];
  for (;;) {
    const served = requestTimes().get(FOLLOWING) ?? [];
    polls = (await batchesScheduled(quiet.workflowId))
      .slice(1) // The first batch catches up; the polls follow.
      .map(({ at, priorityKey, fairnessKey }) => ({ scheduled: at, priorityKey, fairnessKey, served: served.find((t) => t >= at) }))
      .filter((p): p is Poll => p.served !== undefined);
    if (polls.length >= POLLS) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  polls = polls.slice(0, POLLS);
  expect(polls.map((p) => p.priorityKey)).toEqual(polls.map(() => BATCH_PRIORITY.follow));
  expect(polls.map((p) => p.fairnessKey)).toEqual(polls.map(() => FOLLOWING));
  // The backfills were still going after the last measured poll (the queue was full throughout): a
  // backfill request comes after it (the slot is free again once the poll's batch is done).
  const lastPoll = polls[POLLS - 1]!.served;
  const backfilledAfter = () => BACKFILLING.some((a) => (requestTimes().get(a) ?? []).some((t) => t > lastPoll));
  while (!backfilledAfter()) await new Promise((r) => setTimeout(r, 200));
  const times = requestTimes();
  const batches = await backfillBatches(backfills.map((h) => h.workflowId));

  // Behind each poll, only the batch that held the slot when it was scheduled (and, at most, one handed
  // out in the same moment): no more than two other accounts were served between its scheduling and its
  // request. A batch sends for at most BATCH_SENDING_MS (10 s), so a poll waits well within a window.
  const ahead = polls.map((p) => BACKFILLING.filter((a) => (times.get(a) ?? []).some((t) => t > p.scheduled && t < p.served)).length);
  expect(ahead.filter((n) => n > 2)).toEqual([]);
  // And the queue was there to jump: polls were served before backfill batches queued ahead of them.
  const overtaken = polls.map((p) => batches.filter((b) => b.scheduled < p.scheduled && b.served > p.served).length);
  expect(overtaken.reduce((a, b) => a + b, 0)).toBeGreaterThan(POLLS);

  // The workflows' own tasks are handed out by account too: the coordinator is started with the
  // account as fairness key, and its exports inherit it.
  for (const id of [coordinatorWorkflowId(FOLLOWING), quiet.workflowId, coordinatorWorkflowId(BACKFILLING[0]!), backfills[0]!.workflowId]) {
    const [started] = (await temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    expect({ id, fairnessKey: started?.workflowExecutionStartedEventAttributes?.priority?.fairnessKey }).toEqual({ id, fairnessKey: id.includes(FOLLOWING) ? FOLLOWING : BACKFILLING[0] });
  }
}, 600_000);
