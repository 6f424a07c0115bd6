/**
 * A caught-up export makes its follow polls of the next hour inside one batch, resting between them,
 * instead of a workflow round trip each (workflows/export-rules.ts `followPolls`). Real workflows on
 * a dev server, real activities, real HTTP to the simulator. The budget is 1000 a second, so polls
 * 12 s apart fit one request a window even when one leaves late: the rule that makes them one batch.
 */
import path from 'node:path';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { closedBatches, scheduledBatches, until } from '../helpers/batch-history';

const INTERVAL_S = 12;
const SIZES = { tickets: 10, users: 10, organizations: 30, ticket_events: 10 };

const shared = useExportServer();
let stack: ExportStack;
afterEach(async () => {
  await stack?.close();
});

test('polls ride in one batch; new records are written as each comes; a pause stops the next poll and a resume goes on', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  const requests = () => stack.sim.stats().requests;
  await stack.run(async () => {
    const handle = await stack.client.start({
      account: stack.account,
      resource: 'organizations',
      startTime: 0,
      destination: stack.out,
      rateLimit: { requests: 1000, seconds: 1 },
      followIntervalSeconds: INTERVAL_S,
    });
    await until(() => handle.progress(), (s) => s.status === 'following');
    const caughtUp = requests();

    // Three polls, each finding records added since the one before.
    for (let poll = 1; poll <= 3; poll++) {
      stack.sim.addRecords(undefined, 'organizations', 2);
      await until(async () => requests(), (n) => n >= caughtUp + poll, (INTERVAL_S + 30) * 1000);
    }
    // Written as each poll came, while the workflow has not heard from the batch yet.
    await until(async () => written().size, (n) => n === SIZES.organizations + 6, 10_000);
    expect((await handle.progress()).progress.records).toBe(SIZES.organizations);
    const batches = await scheduledBatches(stack.client, handle.workflowId);
    expect(batches.at(-1)!.pollsMs!.length).toBeGreaterThanOrEqual(3);
    expect(batches.filter((b) => b.pollsMs).length).toBe(1);

    // A pause while the batch rests: paused at once, and the batch ends before its next poll, without it.
    const paused = requests();
    await handle.pause();
    expect((await handle.progress()).status).toBe('paused');
    await until(() => closedBatches(stack.client, handle.workflowId), (n) => n === batches.length, (INTERVAL_S + 30) * 1000);
    expect(requests()).toBe(paused);
    expect((await handle.progress()).progress.records).toBe(SIZES.organizations + 6);

    await handle.resume();
    stack.sim.addRecords(undefined, 'organizations', 1);
    await until(() => handle.progress(), (s) => s.status === 'following');
    await until(async () => written().size, (n) => n === SIZES.organizations + 7, (INTERVAL_S + 30) * 1000);
    // A cancel while the batch rests: the export ends at the batch's next poll time, without the
    // poll, and records what the batch wrote, so a restart goes on from there.
    const before = requests();
    await handle.cancel();
    await until(() => handle.describe(), (d) => d.temporalStatus === 'CANCELLED', (INTERVAL_S + 30) * 1000);
    expect(requests()).toBe(before);
    expect((await handle.describe()).state).toMatchObject({ status: 'cancelled', progress: { records: SIZES.organizations + 7 } });
  });
  const newest = written();
  expect([...newest.keys()].sort()).toEqual(stack.sim.expected(undefined, 'organizations').map((r) => String(r.id)).sort());
  expect(duplicates(versionKeys(readRecords(out(), 'organizations'), 'updated_at'))).toEqual([]);
});

const out = () => path.join(stack.out, stack.account);
const written = () => newestById(readRecords(out(), 'organizations'), 'updated_at');
