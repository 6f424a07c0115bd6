/**
 * What a client of the Temporal namespace can do beyond starting workflows, against a real worker, dev
 * server and simulator: complete, fail and heartbeat a running page activity by its ID (the ID is in
 * describe().pendingActivities), ask for budgets beyond the operator's ceiling, send an export a share
 * of its own (unsealed, or a genuine one copied from history), say an export ended when it did not, start a coordinator first with its own budget, and start workflows with
 * poisoned carried state. Each attack must leave nothing lost, no budget exceeded and no workflow stuck.
 */
import path from 'node:path';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { WithStartWorkflowOperation, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BatchResult, BatchProgress } from '../../contract/page-activity';
import type { RateBudget } from '../../zendesk/endpoints';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import { coordinatorStateQuery, exportFinishedSignal, setBudgetSignal, setShareSignal, startExportSignal, startExportUpdate } from '../../workflows/messages';
import type { ExportInput, ExportState } from '../../workflows/types';
import type { accountCoordinator, exportResource } from '../../workflows';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { newestById, readRecords } from '../helpers/output';

const FAST = { requests: 1000, seconds: 1 };
const HUGE = { requests: 1000, seconds: 1 };
const shared = useExportServer();
let stack: ExportStack;
afterEach(async () => {
  await stack?.close();
});

const ticketsId = () => exportWorkflowId(stack.account, 'tickets', 'tickets_time');
const handleOf = (workflowId: string) => shared.env.client.workflow.getHandle(workflowId);

/** Every ticket the simulator holds is in the output, in its newest version: nothing lost. */
function expectNothingLost(): void {
  const written = readRecords(path.join(stack.out, stack.account), 'tickets');
  const expected = stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  const newest = newestById(written, 'generated_timestamp');
  expect([...newest.keys()].sort()).toEqual(expected.map((t) => String(t.id)).sort());
  for (const t of expected) expect(newest.get(String(t.id))?.generated_timestamp).toBe(t.generated_timestamp);
}

/** The ID of the page activity once a worker has started it (what any client can read with describe()). */
async function runningActivity(workflowId: string): Promise<string> {
  for (;;) {
    const { raw } = await handleOf(workflowId).describe();
    const running = raw.pendingActivities?.find((a) => a.lastStartedTime && a.activityType?.name === 'fetchPages');
    if (running?.activityId) return running.activityId;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The most requests the simulator accepted for the account's bucket inside any window of `ms`. */
function peakInWindow(ms: number, bucket = 'incremental-exports'): number {
  const times = stack.sim.stats().acceptedAt[`${stack.account}:${bucket}`] ?? [];
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** Waits until `predicate` holds of the workflow's history. */
async function untilHistory(workflowId: string, predicate: (events: HistoryEvent[]) => boolean): Promise<void> {
  const deadline = Date.now() + 60_000; // Only so that a failure names what it waited for.
  while (!predicate((await handleOf(workflowId).fetchHistory()).events ?? [])) {
    if (Date.now() > deadline) throw new Error(`${workflowId}: what the test waits for never came into its history`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The workflow task failures of a workflow's latest run that its own code raised, by message. Left out:
 * the server's UnhandledCommand, a completion that raced a new event (a signal arriving as the run
 * ended), which the SDK answers by running the task again; a busy machine makes that race likelier.
 */
const workflowTaskFailures = async (workflowId: string) =>
  ((await handleOf(workflowId).fetchHistory()).events ?? [])
    .map((e) => e.workflowTaskFailedEventAttributes)
    .filter((a) => a && a.cause !== temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)
    .map((a) => a!.failure?.message);

/** What a forger sends once the export's page activity runs; `at` is where the export stands. */
type Forgery = (id: { workflowId: string; activityId: string }, at: ExportState['at']) => Promise<void>;
const far = (at: ExportState['at']): ExportState['at'] => ({ ...at, next: { kind: 'time', startTime: Math.floor(Date.now() / 1000) - 60 }, boundary: { second: -1, keys: [] } });
const forgedResult = (at: ExportState['at'], extra: Partial<BatchResult>): BatchResult => ({ at, pages: 0, records: 0, repeats: 0, sideloaded: 0, sentAgoMs: [], stop: 'budget', notes: [], ...extra });

const forgeries: [string, Forgery][] = [
  ["a completion saying the stream ended (`{ stop: 'end-of-stream' }`)", (id, at) => shared.env.client.activity.complete(id, forgedResult(at, { stop: 'end-of-stream' }))],
  [
    'a completion that fits the request (a page, an hour ago, end of stream) but carries no seal',
    (id, at) => shared.env.client.activity.complete(id, forgedResult(far(at), { pages: 1, sentAgoMs: [0], stop: 'end-of-stream' })),
  ],
  ['a completion asking for a century of Retry-After', (id, at) => shared.env.client.activity.complete(id, forgedResult(at, { stop: 'rate-limited', retryAfter: { seconds: 100 * 365 * 86_400, capped: false } }))],
  ['a failure that would end the export', (id) => shared.env.client.activity.fail(id, ApplicationFailure.nonRetryable('Zendesk refused the token (forged)', 'ZendeskAuthError'))],
  [
    'a heartbeat far ahead, then a failure that makes the batch retry from it',
    async (id, at) => {
      const progress: BatchProgress = { at: far(at), pages: 1, records: 0, repeats: 0, sideloaded: 0, sentAt: [], notes: [] };
      await shared.env.client.activity.heartbeat(id, { progress, seal: 'forged' });
      await shared.env.client.activity.heartbeat(id, progress); // The shape before seals, too.
      await shared.env.client.activity.fail(id, new Error('connection reset (forged)'));
    },
  ],
];

test.each(forgeries)('a page activity forged by ID, %s: refused, the batch asked again, nothing lost', async (_, forge) => {
  // Pages of 10 tickets, each answered after 300 ms: the forger finds a batch in flight.
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 80 }, rateLimits: 'off', faults: { latencyMs: 300 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    const activityId = await runningActivity(ticketsId());
    const { at } = await handle.progress();
    await forge({ workflowId: ticketsId(), activityId }, at);
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectNothingLost();
  // A forged completion or failure is refused loudly; a forged heartbeat is only never believed.
  const history = JSON.stringify((await handleOf(ticketsId()).fetchHistory()).events ?? []);
  const timers = ((await handleOf(ticketsId()).fetchHistory()).events ?? []).filter((e) => e.timerStartedEventAttributes);
  for (const t of timers) expect(Number(t.timerStartedEventAttributes!.startToFireTimeout!.seconds)).toBeLessThanOrEqual(3600);
  if (!_.startsWith('a heartbeat')) expect(result.state.notes.join('\n') + history).toMatch(/Refused a batch's result/);
});

test("budgets, shares and a coordinator's first budget beyond the operator's ceiling are held to it", async () => {
  // The ceiling: 3 requests in any 2 seconds for the incremental exports' bucket.
  stack = await startExportStack(shared.env, shared.bundle, {
    simulator: { sizes: { tickets: 120, organizations: 60 }, rateLimits: 'off' },
    workerEnv: { ZENDESK_RATE_CEILING: 'incremental-exports=3/2' },
  });
  await stack.run(async () => {
    // A plain client starts the account's coordinator first, with an export asking 1000 a second.
    const organizations: ExportInput = {
      account: stack.account,
      resource: 'organizations',
      endpoint: 'organizations',
      start: { kind: 'time', startTime: 0 },
      options: { perPage: 10 },
      destination: { kind: 'ndjson', dir: stack.out },
      budget: HUGE,
    };
    const coordinator = await shared.env.client.workflow.signalWithStart<typeof accountCoordinator, [ExportInput]>('accountCoordinator', {
      workflowId: coordinatorWorkflowId(stack.account),
      taskQueue: stack.taskQueue,
      args: [{ account: stack.account }],
      signal: startExportSignal,
      signalArgs: [organizations],
    });
    const tickets = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: HUGE });
    // And asks for more again, of the coordinator.
    await coordinator.signal(setBudgetSignal, 'incremental-exports', HUGE);
    const state = await coordinator.query(coordinatorStateQuery);
    expect(state.budgets['incremental-exports']).toEqual({ requests: 3, seconds: 2 });
    await tickets.result();
    await handleOf(exportWorkflowId(stack.account, 'organizations', 'organizations')).result();
  });
  expectNothingLost();
  expect(stack.sim.stats().requests).toBeGreaterThanOrEqual(18);
  expect(peakInWindow(2000)).toBeLessThanOrEqual(3);
});

test("exportFinished from outside takes no running export's share away; a setShare from outside, forged or copied from history, changes nothing", async () => {
  stack = await startExportStack(shared.env, shared.bundle, {
    // Pages of 5 at one a second each: the exports run for about 25 s.
    simulator: { sizes: { tickets: 120, organizations: 120 }, rateLimits: 'off' },
    workerEnv: { ZENDESK_RATE_CEILING: 'incremental-exports=2/1' },
  });
  await stack.run(async () => {
    const start = (resource: 'tickets' | 'organizations') => ({ account: stack.account, resource, mode: 'time' as const, startTime: 0, perPage: 5, destination: stack.out, rateLimit: { requests: 2, seconds: 1 } });
    const [tickets, organizations] = await stack.client.startMany([start('tickets'), start('organizations')]);
    const coordinatorId = coordinatorWorkflowId(stack.account);
    const coordinator = handleOf(coordinatorId);
    const signalled = (events: HistoryEvent[]) =>
      events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId === ticketsId()).length;
    const before = signalled((await coordinator.fetchHistory()).events ?? []);
    await coordinator.signal(exportFinishedSignal, ticketsId(), []);
    // The coordinator checks with the export itself (a signal of its share, delivered: it runs)…
    await untilHistory(coordinatorId, (events) => signalled(events) > before + 1);
    // …and keeps it: both still hold a share of one.
    const { members } = await coordinator.query(coordinatorStateQuery);
    expect(Object.fromEntries(Object.entries(members).map(([id, m]) => [id.split('/')[2], m.share]))).toEqual({ tickets: 1, organizations: 1 });

    // The coordinator's checks above reached the export as setShare signals, numbered and sealed: any client can read them.
    const shareSignals = (events: HistoryEvent[]) => events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'setShare');
    type ShareArgs = [share: number, budget: RateBudget, sends: number[], seq?: number, seal?: string];
    const argsOf = (e: HistoryEvent) => (e.workflowExecutionSignaledEventAttributes!.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p)) as ShareArgs;
    await untilHistory(ticketsId(), (events) => shareSignals(events).length > 0);
    const copied = argsOf(shareSignals((await handleOf(ticketsId()).fetchHistory()).events ?? []).at(-1)!);
    const [, budget, , seq, seal] = copied;
    expect(typeof seal).toBe('string');
    const forgeries: ShareArgs[] = [
      [2, budget, []], // The whole bucket, unsealed (as a 0.3.0 coordinator sent it).
      [1000, HUGE, []],
      [2, budget, [], seq! + 1_000_000, seal], // The copied seal on a later number and a larger share.
      copied, // The genuine signal itself, sent again.
    ];
    for (const args of forgeries) {
      // The coordinator's checks go on meanwhile: the forgery is told apart by what it says.
      const sentAs = (events: HistoryEvent[]) => shareSignals(events).filter((e) => JSON.stringify(argsOf(e)) === JSON.stringify(args));
      const earlier = sentAs((await handleOf(ticketsId()).fetchHistory()).events ?? []).length;
      await handleOf(ticketsId()).signal(setShareSignal, ...args);
      // Taken in: the signal is in history and a workflow task (with its seal check) completed after it.
      await untilHistory(ticketsId(), (events) => {
        const forged = sentAs(events)[earlier];
        return forged !== undefined && events.slice(events.indexOf(forged)).some((e) => e.workflowTaskCompletedEventAttributes);
      });
      expect((await tickets!.progress()).pace).toMatchObject({ share: 1, budget: { requests: 2, seconds: 1 } });
    }
    await Promise.all([tickets!.result(), organizations!.result()]);
  });
  expectNothingLost();
  // Each export kept to its share of one a second: the forged shares sent nothing more.
  expect(peakInWindow(1000)).toBeLessThanOrEqual(2);
});

test('an export started by a plain client, not its coordinator, fails at once and asks Zendesk nothing', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 10 }, rateLimits: 'off' } });
  const input: ExportInput = {
    account: stack.account,
    resource: 'tickets',
    endpoint: 'tickets_time',
    start: { kind: 'time', startTime: 0 },
    destination: { kind: 'ndjson', dir: stack.out },
    budget: HUGE,
    share: 1000,
  };
  await stack.run(async () => {
    const handle = await shared.env.client.workflow.start<typeof exportResource>('exportResource', { workflowId: ticketsId(), taskQueue: stack.taskQueue, args: [input] });
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^Invalid export input: an export runs only when its account's coordinator starts it/);
  });
  expect(stack.sim.stats().requests).toBe(0);
});

test('poisoned carried state fails its workflow at once with one sentence, and later starts still run', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 20 }, rateLimits: 'off' } });
  const coordinatorId = coordinatorWorkflowId(stack.account);
  await stack.run(async () => {
    // A coordinator whose state names a member that is not one.
    const poisoned = await shared.env.client.workflow.start<typeof accountCoordinator>('accountCoordinator', {
      workflowId: coordinatorId,
      taskQueue: stack.taskQueue,
      args: [{ account: stack.account, state: { budgets: {}, members: { [ticketsId()]: null as never }, released: {}, joins: 1 } }],
    });
    const err = await poisoned.result().then(() => undefined, (e: unknown) => e);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/^Invalid coordinator input: state\.members has an entry that is not one of account .*'s exports\.$/);
    expect(await workflowTaskFailures(coordinatorId)).toEqual([]);

    // An export whose carried state would park it for a century.
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, destination: stack.out, rateLimit: FAST });
    const state = (await handle.result()).state;
    const century: ExportState = { ...state, pace: { ...state.pace, notBefore: Date.now() + 100 * 365 * 86_400_000 } };
    const input = { account: stack.account, resource: 'tickets', endpoint: 'tickets_time', start: { kind: 'time', startTime: 0 }, destination: { kind: 'ndjson', dir: stack.out }, budget: FAST, state: century } as ExportInput;
    const direct = await shared.env.client.workflow.start<typeof exportResource>('exportResource', { workflowId: ticketsId(), taskQueue: stack.taskQueue, args: [input] });
    const failed = await direct.result().then(() => undefined, (e: unknown) => e);
    expect((failed as WorkflowFailedError).cause?.message).toBe('Invalid export input: state.pace.notBefore is not a time within the longest hold.');
    expect(await workflowTaskFailures(ticketsId())).toEqual([]);

    // The same state asked of the coordinator: refused before an export starts and takes a share it
    // would hold while failing (the coordinator would not hear of its end), and the caller told why.
    const start = new WithStartWorkflowOperation<typeof accountCoordinator>('accountCoordinator', {
      workflowId: coordinatorId,
      taskQueue: stack.taskQueue,
      args: [{ account: stack.account }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const refused = await shared.env.client.workflow.executeUpdateWithStart(startExportUpdate, { args: [input], startWorkflowOperation: start }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toBe('state.pace.notBefore is not a time within the longest hold.');
    expect((await handleOf(ticketsId()).describe()).runId).toBe(direct.firstExecutionRunId); // No export started.
  });
  expectNothingLost(); // The start after the poisoned coordinator ran, to the end.
});
