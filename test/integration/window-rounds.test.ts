/**
 * A backfill held to its budget makes the rounds of its next windows inside one batch, resting
 * between them, instead of a workflow round trip each window (workflows/export-rules.ts `nextBatch`,
 * `rounds`). Real workflows on a dev server, real activities, real HTTP to a simulator that enforces
 * the same budget and answers 429 past it. The window is 10 s, the shortest a batch rests through.
 */
import path from 'node:path';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { closedBatches, completedBatches, scheduledBatches, until } from '../helpers/batch-history';
import type { Resource } from '../../zendesk/endpoints';

const BUDGET = { requests: 4, seconds: 10 };
const SIZES = { tickets: 80, users: 10, organizations: 30, ticket_events: 10 };

const shared = useExportServer();
let stack: ExportStack;
beforeEach(async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: { 'incremental-exports': BUDGET } } });
});
afterEach(async () => {
  await stack?.close();
});

const start = (resource: Resource) =>
  stack.client.start({ account: stack.account, resource, startTime: 0, destination: stack.out, rateLimit: BUDGET, perPage: 5, mode: 'time' });

test('rounds ride in one batch within the budget; a pause stops the next round at once, and a resume goes on', async () => {
  const requests = () => stack.sim.stats().requests;
  const { result, workflowId } = await stack.run(async () => {
    const handle = await start('tickets');
    // The first round is made, and the batch rests until the window after it.
    await until(async () => requests(), (n) => n === BUDGET.requests);
    const [first] = await scheduledBatches(stack.client, handle.workflowId);
    expect(first!.rounds!.count).toBeGreaterThanOrEqual(3); // 16 pages of 5 at 4 a window: the whole export in one batch.
    await handle.pause();
    expect((await handle.progress()).status).toBe('paused');
    await until(() => closedBatches(stack.client, handle.workflowId), (n) => n === 1, 30_000);
    expect(requests()).toBe(BUDGET.requests); // The next round was not made.
    expect((await handle.progress()).progress.pages).toBe(BUDGET.requests); // And the batch's pages are counted.
    await handle.resume();
    return { result: await handle.result(), workflowId: handle.workflowId };
  });
  expect(result.outcome).toBe('completed');
  const scheduled = await scheduledBatches(stack.client, workflowId);
  // Paused once: the batch before the pause and one after it (a batch a window would make 5).
  expect(scheduled.length).toBeLessThanOrEqual(2);
  expectWithinBudget();
  expectExactlyOnce('tickets');
});

test("another export joining the account cuts a resting batch's rounds short: both keep within the account's budget", async () => {
  const requests = () => stack.sim.stats().requests;
  const { results, ticketsId } = await stack.run(async () => {
    const first = await start('tickets');
    await until(async () => requests(), (n) => n === BUDGET.requests);
    const second = await start('organizations');
    return { results: await Promise.all([first.result(), second.result()]), ticketsId: first.workflowId };
  });
  const [tickets, organizations] = results;
  expect([tickets.outcome, organizations.outcome]).toEqual(['completed', 'completed']);
  const ticketBatches = await scheduledBatches(stack.client, ticketsId);
  // The first batch was planned for the whole export at the whole budget, and ended early with the new share.
  expect(ticketBatches[0]).toMatchObject({ maxRequests: BUDGET.requests, rounds: { count: expect.any(Number) } });
  expect(ticketBatches.length).toBeGreaterThan(1);
  // Cut short by the export itself when its share changed, not by Zendesk's bucket running dry.
  expect((await completedBatches(stack.client, ticketsId))[0]).toMatchObject({ stop: 'cancelled', pages: BUDGET.requests });
  expect(ticketBatches[1]!.maxRequests + (ticketBatches[1]!.laterMs?.length ?? 0)).toBeLessThanOrEqual(BUDGET.requests / 2);
  expectWithinBudget();
  expectExactlyOnce('tickets');
  expectExactlyOnce('organizations');
});

function expectWithinBudget() {
  expect(stack.sim.stats().statuses[429] ?? 0).toBe(0);
  expect(stack.sim.stats().peakInWindow['incremental-exports']).toBeLessThanOrEqual(BUDGET.requests);
}

function expectExactlyOnce(resource: Resource) {
  const written = readRecords(path.join(stack.out, stack.account), resource);
  expect(duplicates(versionKeys(written, 'updated_at'))).toEqual([]);
  const expected = stack.sim.expected(undefined, resource, { supportTypeScope: 'all' }).map((r) => String(r.id));
  expect([...newestById(written, 'updated_at').keys()].sort()).toEqual(expected.sort());
}
