/**
 * Crashes on the production-shaped cluster: a worker process killed with SIGKILL while it runs the
 * page activity, the history service killed with SIGKILL and started again, and the frontend
 * restarted, each in the middle of an export. Each export completes, with every record written once.
 * The simulator answers slowly (latency) so that the exports are still running when the blows land.
 */
import path from 'node:path';
import { exportWorkflowId } from '../../workflows/ids';
import { alive } from './procfs';
import { clusterSuite, eventually, expectExactlyOnce, useClusterStack } from './stack';

const ACCOUNTS = { crash: 'crash', deploy: 'deploy', history: 'history' };
const SIZES = { tickets: 300, users: 300, organizations: 30, ticket_events: 30 };
const FAST = { requests: 1000, seconds: 1 };
const ALL = { supportTypeScope: 'all' as const };
const LATENCY_MS = 100;

const stack = useClusterStack({ accounts: Object.values(ACCOUNTS), simulator: { sizes: SIZES } });

const requestsOf = (account: string) => stack.sim.stats().requestsByAccount[account] ?? 0;

/** Waits until the simulator has answered `n` more requests of the account: the export is moving. */
const moved = (account: string, from: number, n: number) =>
  eventually(`${n} more pages of ${account}`, async () => (requestsOf(account) >= from + n ? true : undefined), 180_000, 50);

/** The page activity in flight: its ID and the identity (pid@host) of the worker running it. */
async function activityInFlight(workflowId: string): Promise<{ activityId: string; pid: number } | undefined> {
  const { raw } = await stack.client.client.workflow.getHandle(workflowId).describe();
  const running = raw.pendingActivities?.find((a) => a.lastWorkerIdentity && a.activityId);
  return running ? { activityId: running.activityId!, pid: Number(running.lastWorkerIdentity!.split('@')[0]) } : undefined;
}

/** The final attempt of an activity, as history records it: attempt number and the pid of the worker that ran it. */
async function finalAttempt(workflowId: string, activityId: string): Promise<{ attempt: number; pid: number } | undefined> {
  const events = (await stack.client.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
  const attributes = started?.activityTaskStartedEventAttributes;
  return attributes ? { attempt: attributes.attempt ?? 0, pid: Number(attributes.identity?.split('@')[0]) } : undefined;
}

/** Polls describe() rather than long-polling the result, so a restart of the frontend or history costs the wait nothing. */
async function completed(workflowId: string) {
  return eventually(
    `${workflowId} to complete`,
    async () => {
      const d = await stack.client.handle(workflowId).describe();
      if (d.temporalStatus === 'RUNNING') return undefined;
      return d;
    },
    300_000,
    500,
  );
}

beforeEach(() => stack.sim.setFaults({ latencyMs: LATENCY_MS }));
afterEach(() => stack.sim.setFaults({ latencyMs: 0 }));

clusterSuite('crashes mid-export on a multi-service cluster', () => {
  test('the worker running the page activity is killed with SIGKILL: the other worker and a restarted one finish the export exactly once', async () => {
    const account = ACCOUNTS.crash;
    const id = exportWorkflowId(account, 'users', 'users_cursor');
    const out = path.join(stack.root, 'crash');
    await stack.client.start({ account, resource: 'users', startTime: 0, perPage: 5, destination: out, rateLimit: FAST });

    // The worker whose identity the pending page activity carries is the one to kill.
    const inFlight = await eventually(
      'a page activity under way on one of the workers',
      async () => {
        if (requestsOf(account) < 8) return undefined;
        const running = await activityInFlight(id);
        const worker = [...stack.workers.values()].find((w) => w.pid === running?.pid);
        return worker && running ? { worker, activityId: running.activityId } : undefined;
      },
      60_000,
      50,
    );
    const victim = inFlight.worker;
    const survivor = [...stack.workers.values()].find((w) => w !== victim)!;
    const requestsAtKill = requestsOf(account);
    await victim.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const restarted = await stack.startWorker(victim.name as 'profile' | 'env');

    const ended = await completed(id);
    expect(ended.temporalStatus).toBe('COMPLETED');
    expect(requestsOf(account)).toBeGreaterThan(requestsAtKill);
    expectExactlyOnce(path.join(out, account), 'users', stack.sim.expected(account, 'users', ALL));
    // The killed worker's page activity was tried again, and finished by the survivor or the restarted worker.
    const last = await finalAttempt(id, inFlight.activityId);
    expect(last?.attempt).toBeGreaterThan(1);
    expect([survivor.pid, restarted.pid]).toContain(last?.pid);
  });

  test('a worker stopped with SIGTERM mid-page finishes its batch and exits: nothing fetched twice, the export goes on elsewhere', async () => {
    stack.sim.setFaults({ latencyMs: 200 }); // A page in flight for long enough to be caught.
    const account = ACCOUNTS.deploy;
    const id = exportWorkflowId(account, 'users', 'users_cursor');
    const out = path.join(stack.root, 'deploy');
    await stack.client.start({ account, resource: 'users', startTime: 0, perPage: 4, destination: out, rateLimit: FAST });
    const inFlight = await eventually(
      'a page activity under way on one of the workers',
      async () => {
        if (requestsOf(account) < 10) return undefined;
        const running = await activityInFlight(id);
        const worker = [...stack.workers.values()].find((w) => w.pid === running?.pid);
        return worker && running ? { worker, activityId: running.activityId } : undefined;
      },
      60_000,
      50,
    );
    const stopping = inFlight.worker;
    const requestsAtStop = requestsOf(account);
    await stopping.kill('SIGTERM');
    expect(await stopping.exited).toEqual({ code: 0, signal: null });
    await stack.startWorker(stopping.name as 'profile' | 'env');

    const ended = await completed(id);
    expect(ended.temporalStatus).toBe('COMPLETED');
    expect(requestsOf(account)).toBeGreaterThan(requestsAtStop);
    expectExactlyOnce(path.join(out, account), 'users', stack.sim.expected(account, 'users', ALL));
    // The batch in flight ended on the stopping worker and reported (one attempt, not a retry after a timeout),
    // and every page Zendesk answered was counted by the export: none was asked for twice.
    expect(await finalAttempt(id, inFlight.activityId)).toEqual({ attempt: 1, pid: stopping.pid });
    expect(requestsOf(account)).toBe(ended.state!.progress.pages);
  });

  test('the history service killed with SIGKILL and started again, then the frontend restarted, mid-export: it completes exactly once', async () => {
    const account = ACCOUNTS.history;
    const id = exportWorkflowId(account, 'tickets', 'tickets_cursor');
    const out = path.join(stack.root, 'history');
    // 100 pages of 3 at 100 ms each: the export outlasts both restarts.
    await stack.client.start({ account, resource: 'tickets', startTime: 0, perPage: 3, destination: out, rateLimit: FAST });
    await moved(account, 0, 8);

    const before = stack.cluster.pids();
    await stack.cluster.restartService('history', { hard: true });
    expect(alive(before.history!)).toBe(false);
    for (const pid of Object.values(stack.cluster.pids())) if (pid !== undefined) stack.groups.add(pid);
    const afterHistory = requestsOf(account);
    await moved(account, afterHistory, 5);

    expect((await stack.client.handle(id).describe()).temporalStatus).toBe('RUNNING');
    await stack.cluster.restartService('frontend');
    expect(alive(before.frontend!)).toBe(false);
    for (const pid of Object.values(stack.cluster.pids())) if (pid !== undefined) stack.groups.add(pid);
    const after = stack.cluster.pids();
    expect(after.history).not.toBe(before.history);
    expect(after.frontend).not.toBe(before.frontend);

    const ended = await completed(id);
    expect(ended.temporalStatus).toBe('COMPLETED');
    expect(ended.state!.progress.records).toBeGreaterThan(0);
    expectExactlyOnce(path.join(out, account), 'tickets', stack.sim.expected(account, 'tickets', ALL));
    // One export, completed once: no second run was started for it.
    const { count } = await stack.client.client.workflow.count(`WorkflowId = '${id}'`);
    expect(count).toBe(1);
    // Both workers came through the restarts: they still poll, over the new frontend.
    for (const w of stack.workers.values()) expect(alive(w.pid)).toBe(true);
  });
});
