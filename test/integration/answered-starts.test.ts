/**
 * Starts and budget changes are answered: a bad one is refused with the sentence the caller receives,
 * from this project's client (which names the flag) and from a plain Temporal client sending the update
 * itself (which hears the field); a good start returns once the export runs; a destination the worker
 * would not write to is refused before the export waits for any budget; and with no worker, a start
 * returns as pending and is listed as pending until a worker takes it in. Real worker, real dev
 * server, the simulator as Zendesk.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { ExportClient } from '../../client/export-client';
import { UserError } from '../../client/errors';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import type { ExportInput } from '../../workflows/types';

const shared = useExportServer();
let stack: ExportStack;
afterEach(async () => stack?.close());

/** A well-formed input of the stack's account, with `change` laid over it. */
function input(change: Record<string, unknown> = {}): ExportInput {
  return {
    account: stack.account,
    resource: 'organizations',
    endpoint: 'organizations',
    start: { kind: 'time', startTime: 0 },
    options: { supportTypeScope: 'all' },
    destination: { kind: 'ndjson', dir: stack.out },
    budget: { requests: 10, seconds: 60 },
    ...change,
  } as ExportInput;
}

/** The start as any Temporal client can send it: Update-with-Start on the account's coordinator, by name. */
function rawStart(client: Client, exportInput: unknown): Promise<unknown> {
  return client.workflow.executeUpdateWithStart('requestExport', {
    args: [exportInput],
    startWorkflowOperation: new WithStartWorkflowOperation('accountCoordinator', {
      workflowId: coordinatorWorkflowId(stack.account),
      taskQueue: stack.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ account: stack.account }],
    }),
  });
}

/** The sentence a refused update carries to its caller. */
async function refusal(update: Promise<unknown>): Promise<string> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause!.message;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const ticketsCursor = { resource: 'tickets', endpoint: 'tickets_cursor', start: { kind: 'cursor', startTime: 0, cursor: null } };

/** One bad value for each field of the export input: [field, the change, the flag the library names]. */
const BAD_INPUTS: [string, Record<string, unknown>, string][] = [
  ['account', { account: 'evil.com#' }, '--account'],
  ['resource', { resource: 'secrets' }, 'The resource'],
  ['endpoint', { endpoint: 'users_time' }, '--mode'],
  ['start.next', { start: { kind: 'cursor', startTime: 0, cursor: 'abc' } }, '--cursor'],
  ['start.next.startTime', { start: { kind: 'time', startTime: -5 } }, '--start-time'],
  ['start.next.cursor', { ...ticketsCursor, start: { kind: 'cursor', startTime: 0, cursor: 'has spaces' } }, '--cursor'],
  ['options.perPage', { ...ticketsCursor, options: { perPage: 1001 } }, '--per-page'],
  ['options.include', { options: { include: ['users'] } }, '--include'],
  ['options.excludeDeleted', { options: { excludeDeleted: true } }, '--exclude-deleted'],
  ['options.supportTypeScope', { options: { supportTypeScope: 'AGENT' } }, '--support-type-scope'],
  ['destination.kind', { destination: { kind: 'ftp', host: 'x' } }, '--out'],
  ['destination.target', { destination: { kind: 's3' } }, '--dest'],
  ['destination.dir', { destination: { kind: 'ndjson', dir: '' } }, '--out'],
  ['destination.target', { destination: { kind: 'postgres', target: 'postgres://me@db/zendesk' } }, '--dest'],
  ['budget.requests', { budget: { requests: 0, seconds: 60 } }, '--rate-limit'],
  ['budget.seconds', { budget: { requests: 10, seconds: 86_401 } }, '--rate-limit'],
  ['share', { share: -1 }, 'share'],
  ['initialSends', { initialSends: ['soon'] }, 'initialSends'],
  ['followIntervalSeconds', { followIntervalSeconds: 0 }, '--follow'],
  ['maxPages', { maxPages: 0 }, '--max-pages'],
  ['maxPagesPerRun', { maxPagesPerRun: 1.5 }, 'maxPagesPerRun'],
  ['state', { state: 'resume' }, 'state'],
];

test('a bad start is refused with one sentence naming the field: the library names its flag, a plain client hears the field', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 5 }, rateLimits: 'off' } });
  await stack.run(async () => {
    for (const [field, change, flag] of BAD_INPUTS) {
      const bad = input(change);
      await expect(stack.client.startInput(bad)).rejects.toThrow(UserError);
      const library = await stack.client.startInput(bad).then(() => '', (e: Error) => e.message);
      expect({ field, library }).toEqual({ field, library: expect.stringMatching(new RegExp(`^${escape(flag)} [^\n]+\\.$`)) });
      const raw = await refusal(rawStart(shared.env.client, bad));
      expect({ field, raw }).toEqual({ field, raw: expect.stringMatching(new RegExp(`^${escape(field)} [^\n]+\\.$`)) });
      expect(raw.split(/\.\s/)).toHaveLength(1);
    }
    // An export of another account, at this account's coordinator.
    expect(await refusal(rawStart(shared.env.client, input({ account: 'other' })))).toMatch(/^account other is another account/);
    expect(await refusal(rawStart(shared.env.client, null))).toBe('the input is missing.');
  });
  // Refused before anything ran: no export exists, no request reached Zendesk.
  await expect(shared.env.client.workflow.getHandle(exportWorkflowId(stack.account, 'organizations', 'organizations')).describe()).rejects.toThrow(/not found/i);
  expect(stack.sim.stats().requests).toBe(0);
});

test('a bad budget change is refused with one sentence, from the library and from a plain client', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 5 }, rateLimits: 'off' } });
  await stack.run(async () => {
    await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out, maxPages: 1 });
    const coordinator = shared.env.client.workflow.getHandle(coordinatorWorkflowId(stack.account));
    const cases: [string, unknown, unknown, string][] = [
      ['bucket', 'nope', { requests: 10, seconds: 60 }, 'The rate bucket'],
      ['budget', 'incremental-exports', undefined, '--rate-limit'],
      ['budget.requests', 'incremental-exports', { requests: 0, seconds: 60 }, '--rate-limit'],
      ['budget.seconds', 'incremental-exports', { requests: 10, seconds: 0 }, '--rate-limit'],
    ];
    for (const [field, bucket, budget, flag] of cases) {
      const library = await stack.client.setBudget(stack.account, bucket as string, budget as never).then(() => '', (e: Error) => e.message);
      expect({ field, library }).toEqual({ field, library: expect.stringMatching(new RegExp(`^${escape(flag)} `)) });
      const raw = await refusal(coordinator.executeUpdate('changeBudget', { args: [bucket, budget] }));
      expect({ field, raw }).toEqual({ field, raw: expect.stringMatching(new RegExp(`^${escape(field)} `)) });
    }
    // A good one is answered once the exports have their shares.
    await stack.client.setBudget(stack.account, 'incremental-exports', { requests: 7, seconds: 60 });
    const state = await coordinator.query<{ budgets: Record<string, unknown> }>('coordinatorState');
    expect(state.budgets['incremental-exports']).toEqual({ requests: 7, seconds: 60 });
  });
});

test('a good start returns once the export runs; a second start of it says it runs already', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 5 }, rateLimits: 'off' } });
  await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out, followIntervalSeconds: 60 });
    expect(handle.pending).toBe(false);
    expect(handle.alreadyRunning).toBe(false);
    // Started when the start returned: no polling for it.
    const run = await shared.env.client.workflow.getHandle(handle.workflowId).describe();
    expect(run.status.name).toBe('RUNNING');
    const again = (await rawStart(shared.env.client, input({ followIntervalSeconds: 60 }))) as { workflowId: string; alreadyRunning: boolean };
    expect(again).toMatchObject({ workflowId: handle.workflowId, alreadyRunning: true });
    // Pause and resume are answered too; a plain client that sends them an argument is told they take none.
    await handle.pause();
    await expect(refusal(shared.env.client.workflow.getHandle(handle.workflowId).executeUpdate('pauseExport', { args: [1] }))).resolves.toBe(
      'Pause and resume take no arguments.',
    );
    await handle.resume();
    await handle.cancel();
  });
});

test('a destination outside the worker\'s root is refused before the export waits for budget', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 5, users: 5 }, rateLimits: 'off' } });
  await stack.run(async () => {
    // Users hold the account's whole budget of one request a day: another export would wait a day for it.
    const users = await stack.client.start({ account: stack.account, resource: 'users', startTime: 0, destination: stack.out, rateLimit: { requests: 1, seconds: 86_400 } });
    const outside = stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: '/', rateLimit: { requests: 1, seconds: 86_400 } });
    await expect(outside).rejects.toThrow(UserError);
    await expect(outside).rejects.toThrow(/is outside the worker's output root/);
    await expect(stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: 'postgres:nope' })).rejects.toThrow(
      'The worker has no Postgres target "nope": set ZENDESK_EXPORT_POSTGRES_NOPE for it.',
    );
    await expect(shared.env.client.workflow.getHandle(exportWorkflowId(stack.account, 'organizations', 'organizations')).describe()).rejects.toThrow(/not found/i);
    await users.cancel();
  });
});

test('with no worker, a start is pending, and listed and described as pending until a worker takes it in', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 5 }, rateLimits: 'off' } });
  const client = new ExportClient({ client: shared.env.client, taskQueue: stack.taskQueue, startTimeoutMs: 1000 });
  const handle = await client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out });
  expect(handle.pending).toBe(true);
  expect((await handle.describe()).temporalStatus).toBe('PENDING');
  expect((await client.list(stack.account)).map((s) => [s.workflowId, s.temporalStatus])).toEqual([[handle.workflowId, 'PENDING']]);
  const result = await stack.run(() => handle.result());
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.records).toBe(5);
  expect((await client.list(stack.account)).map((s) => s.temporalStatus)).toEqual(['COMPLETED']);
});
