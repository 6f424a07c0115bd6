/**
 * Rate budgets on workflow time, on the time-skipping server: real workflows, real activities, real
 * HTTP to the simulator. The simulator's own limiter runs on wall time, which the skipping server
 * races past, so these tests read pacing from workflow history; the dev-server tests check the
 * simulator's limiter sees no 429.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflows, createTimeSkippingEnv } from '../helpers/temporal';
import { innermostCause } from '../../common/cause';
import { startExportStack, type ExportStack } from '../helpers/exports';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { exportWorkflowId } from '../../workflows/ids';
import type { BatchResult } from '../../contract/page-activity';
import { DestinationError } from '../../activities/destinations/destination';

// Each test skips through minutes to a day of workflow time, one batch (an activity and its
// seal check) at a time: a busy machine needs more than the default two minutes.
jest.setTimeout(300_000);

let env: TestWorkflowEnvironment;
let bundle: { code: string };
let stack: ExportStack;

// One time-skipping server per test: the server stops skipping while a task waits on a task queue no
// worker polls, and a task a test left behind on its own queue would freeze the next test's clock.
beforeAll(async () => {
  bundle = await bundleWorkflows(WORKFLOWS_PATH);
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
});
afterEach(async () => {
  await stack?.close();
  await env?.teardown();
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const ms = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
const EventType = { ACTIVITY_COMPLETED: 12, TIMER_STARTED: 17 };

/**
 * When each request left, on the workflow clock, from the history: each batch reports how long
 * before its completion each of its requests (failed ones too) was sent.
 */
async function sendTimes(workflowId: string): Promise<number[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events!
    .filter((e) => e.eventType === EventType.ACTIVITY_COMPLETED)
    .flatMap((e) => {
      const payload = e.activityTaskCompletedEventAttributes!.result!.payloads![0]!;
      const result = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as BatchResult;
      return result.sentAgoMs.map((ago) => ms(e) - ago);
    })
    .sort((a, b) => a - b);
}

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) max = Math.max(max, sorted.filter((t) => t >= sorted[i]! && t < sorted[i]! + windowMs).length);
  return max;
}

test('25 sample pages take more than 40 minutes of workflow time and make no 429', async () => {
  stack = await startExportStack(env, bundle, {
    simulator: { sizes: { organizations: 25 * 49 }, rateLimits: 'off' },
  });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'organizations', sample: true, maxPages: 25, startTime: 0, destination: stack.out });
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.records).toBe(25 * 49);
  const times = await sendTimes(exportWorkflowId(stack.account, 'organizations', 'sample'));
  // Each page of 50 repeats the previous page's last record (inclusive start_time): 25 pages at least.
  expect(times.length).toBeGreaterThanOrEqual(25);
  expect(times[24]! - times[0]!).toBeGreaterThanOrEqual(40 * 60_000);
  expect(maxInWindow(times, 20 * 60_000)).toBeLessThanOrEqual(10);
  expect(stack.sim.stats().statuses[429] ?? 0).toBe(0);
});

test('two resources of one account share 10 requests a minute', async () => {
  // Tickets and organizations draw on the same bucket (the users cursor export has its own).
  stack = await startExportStack(env, bundle, {
    simulator: { sizes: { tickets: 300, organizations: 300 }, rateLimits: 'off' },
  });
  await stack.run(async () => {
    const handles = await stack.client.startMany(
      ['tickets', 'organizations'].map((resource) => ({ account: stack.account, resource, startTime: 0, perPage: 20, destination: stack.out })),
    );
    // One result at a time: the time-skipping client locks and unlocks skipping around each wait.
    for (const h of handles) await h.result();
  });
  const times = [
    ...(await sendTimes(exportWorkflowId(stack.account, 'tickets', 'tickets_cursor'))),
    ...(await sendTimes(exportWorkflowId(stack.account, 'organizations', 'organizations'))),
  ];
  expect(times.length).toBeGreaterThanOrEqual(30);
  expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(10);
  // The whole budget is used: at 10 a minute, N requests need just over floor((N-1)/10) minutes.
  const spanMinutes = (Math.max(...times) - Math.min(...times)) / 60_000;
  expect(spanMinutes).toBeLessThan(Math.floor((times.length - 1) / 10) + 0.5);
});

test('a page whose first attempts failed after Zendesk counted them spends that many requests of the budget', async () => {
  // The destination refuses the first two writes (a fault injected into the sink, in the worker's own
  // process: a folder made unwritable and restored could not be timed against skipped time). Each
  // failed attempt had already fetched its page, so Zendesk saw three requests for page 1.
  let refusals = 2;
  stack = await startExportStack(env, bundle, {
    simulator: { sizes: { organizations: 150 }, rateLimits: 'off' },
    activities: {
      wrapDestination: (real) => ({ ...real, writePage: async (page) => (refusals-- > 0 ? Promise.reject(new DestinationError('disk full')) : real.writePage(page)) }),
    },
  });
  const result = await stack.run(async () => (await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, perPage: 10, destination: stack.out })).result());
  expect(result.outcome).toBe('completed');
  expect(refusals).toBeLessThan(0);
  const times = await sendTimes(exportWorkflowId(stack.account, 'organizations', 'organizations'));
  // Page 1 went out three times, and the batch counted all three: once would let two more pages into its minute.
  expect(times.length).toBe(stack.sim.stats().requests);
  expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(10);
});

test('a 429 is answered by a workflow timer of exactly Retry-After', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 30 }, rateLimits: 'off' } });
  stack.sim.setFaults({ rateLimitNext: 1, retryAfterSeconds: 137 });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out });
    return handle.result();
  });
  expect(result.state.progress.rateLimited).toBe(1);
  const history = await env.client.workflow.getHandle(exportWorkflowId(stack.account, 'organizations', 'organizations')).fetchHistory();
  const timers = history.events!.filter((e) => e.eventType === EventType.TIMER_STARTED);
  expect(timers.map((t) => Number(t.timerStartedEventAttributes!.startToFireTimeout!.seconds))).toContain(137);
  expect(result.state.progress.records).toBe(30);
});

test('a Retry-After of 31 years is capped at an hour, with a note saying so', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 30 }, rateLimits: 'off' } });
  stack.sim.setFaults({ rateLimitNext: 1, retryAfterSeconds: 999_999_999 });
  const result = await stack.run(async () => (await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out })).result());
  const history = await env.client.workflow.getHandle(exportWorkflowId(stack.account, 'organizations', 'organizations')).fetchHistory();
  const timers = history.events!.filter((e) => e.eventType === EventType.TIMER_STARTED).map((t) => Number(t.timerStartedEventAttributes!.startToFireTimeout!.seconds));
  expect(timers).toContain(3600);
  expect(Math.max(...timers)).toBeLessThanOrEqual(3600);
  expect(result.state.notes.join(' ')).toMatch(/longer than an hour/);
  expect(result.state.progress.records).toBe(30);
});

test('Zendesk failing for a whole day ends the export with the last failure, instead of retrying for ever', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 30 }, rateLimits: 'off', faults: { failRate: 1, failStatus: [503] } } });
  const error = await stack.run(async () =>
    (await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out })).result().catch((e: Error) => e),
  );
  expect(innermostCause(error)?.message).toMatch(/^Gave up after a day of failed attempts: .*HTTP 503/);
  // Backing off up to two minutes between attempts: hundreds of attempts in a day, not millions.
  expect(stack.sim.stats().requests).toBeGreaterThan(100);
  expect(stack.sim.stats().requests).toBeLessThan(1500);
});
