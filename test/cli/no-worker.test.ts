/**
 * The CLI with no worker running, against a real dev server: ended exports are described from what
 * Temporal keeps (their memo and failure), a running one says no worker is answering (exit 2), and
 * `run` waits for a worker with a note, then reports the export's outcome once one runs it.
 */
import { Client, Connection } from '@temporalio/client';
import { progressQuery } from '../../workflows/messages';
import { useCliStack, until } from './stack';

const stack = useCliStack({ sizes: { tickets: 40, users: 30, organizations: 20, ticket_events: 20 }, rateLimits: 'off' });
const env = (queue: string, account = 'idle') => stack.env(account, queue);
const cli = (args: string[], queue = 'no-worker') => stack.cli(args, env(queue));

describe('status with no worker running', () => {
  beforeAll(async () => {
    // Exports in each state, made while a worker ran; then the worker goes.
    const worker = stack.worker(env('no-worker'));
    expect((await cli(['run', 'organizations', '--start-time', '0', '--out', 'out', '--rate-limit', '1000/1'])).code).toBe(0);
    expect((await cli(['start', 'users', '--start-time', '0', '--out', 'out', '--follow', '60', '--rate-limit', '1000/1'])).code).toBe(0);
    expect((await cli(['start', 'tickets', '--start-time', '0', '--out', 'out', '--follow', '60', '--rate-limit', '1000/1'])).code).toBe(0);
    for (const resource of ['users', 'tickets']) {
      await until(() => cli(['--json', 'status', resource]), (r) => JSON.parse(r.stdout).state?.status === 'following', `${resource} following`);
    }
    expect((await cli(['cancel', 'tickets'])).code).toBe(0);
    // A failure recorded by the export itself: an account the worker has no credentials for.
    expect((await cli(['run', 'ticket_events', '--account', 'stranger', '--start-time', '0', '--out', 'out'])).code).toBe(1);
    await worker.kill('SIGTERM');
  });

  test('a completed export: its counts and position, from its memo', async () => {
    const r = await cli(['status', 'organizations']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^zendesk-export\/idle\/organizations\/organizations {2}\(COMPLETED in Temporal\)\norganizations\s+completed\s+1 page\s+20 records\s/);
    expect(r.stdout).toMatch(/^position: \{"kind":"time","startTime":\d+\}$/m);
    expect(r.stderr).toBe('');
  });

  test('a cancelled export: where it stopped, and how to go on from there', async () => {
    const r = await cli(['status', 'tickets']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(CANCELLED in Temporal)');
    expect(r.stdout).toMatch(/^tickets\s+cancelled\s+\d+ pages?\s+40 records/m);
    expect(r.stdout).toMatch(/Cancelled \(after \d+ pages?, 40 records\); zendesk-export resume tickets --account idle restarts it from where it was cancelled\./);
  });

  test("a failed export: Zendesk's or the worker's reason, from Temporal, and exit 1", async () => {
    const r = await cli(['status', 'ticket_events', '--account', 'stranger']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('(FAILED in Temporal)');
    expect(r.stdout).toMatch(/^failed: The worker's credentials are not for account "stranger"/m);
  });

  test('a running export: no worker is answering, exit 2, at once', async () => {
    const r = await cli(['status', 'users']);
    expect(r.code).toBe(2);
    expect(r.stdout.trim()).toBe('zendesk-export/idle/users/users_cursor  (RUNNING in Temporal)');
    expect(r.stderr.trim()).toMatch(/^No worker answered for zendesk-export\/idle\/users\/users_cursor within 5s: is "zendesk-export worker" running on task queue "no-worker"\?$/);
    const json = await cli(['--json', 'status', 'users']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ temporalStatus: 'RUNNING' });
    expect(JSON.parse(json.stderr)).toMatchObject({ error: expect.stringMatching(/^No worker answered/), exitCode: 2 });
  });

  test("a running export whose worker has long gone: the server's own no-poller answer is the same sentence", async () => {
    // Once it has seen no poller on the task queue for a while, the server refuses a query at once
    // (FAILED_PRECONDITION) instead of letting it wait for the deadline: wait for that answer.
    const connection = await Connection.connect({ address: stack.server.address });
    try {
      const handle = new Client({ connection }).workflow.getHandle('zendesk-export/idle/users/users_cursor');
      for (;;) {
        const answer = await connection.withDeadline(Date.now() + 10_000, () => handle.query(progressQuery)).catch((err: Error) => err);
        if (answer instanceof Error && /no poller/i.test(`${answer.message} ${(answer.cause as Error | undefined)?.message}`)) break;
      }
    } finally {
      await connection.close();
    }
    const r = await cli(['status', 'users']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('No worker answered for zendesk-export/idle/users/users_cursor within 5s: is "zendesk-export worker" running on task queue "no-worker"?');
  });
});

test('run waits for a worker with a note, and exits 0 once one has run the export; start says it is pending', async () => {
  const queue = 'late-worker';
  const run = stack.startCli(['run', 'organizations', '--start-time', '0', '--out', 'out', '--rate-limit', '1000/1'], env(queue, 'late'));
  await run.waitFor(/organizations\s+waiting for a worker to start it: is "zendesk-export worker" running on task queue "late-worker"\? It starts when one does; Ctrl-C detaches\./);
  const start = await stack.cli(['start', 'users', '--start-time', '0', '--out', 'out', '--rate-limit', '1000/1'], env(queue, 'late'));
  expect(start.stdout.trim()).toBe(
    'Requested zendesk-export/late/users/users_cursor; no worker has picked it up yet (is "zendesk-export worker" running on task queue "late-worker"?). It starts when one does.',
  );
  stack.worker(env(queue, 'late'));
  expect(await run.exited).toBe(0);
  expect(run.output()).toMatch(/^organizations\s+completed\s+1 page\s+20 records\s/m);
  await until(() => stack.cli(['--json', 'status', 'users'], env(queue, 'late')), (r) => JSON.parse(r.stdout).state?.status === 'completed', 'the pending start to complete');
});

test('a namespace Temporal does not have is one sentence and exit 2, not an unexpected error', async () => {
  const r = await cli(['--namespace', 'no-such-namespace', 'list', '--account', 'idle']);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe('Temporal has no namespace "no-such-namespace": give the right one with --namespace, TEMPORAL_NAMESPACE or the profile.');
});
