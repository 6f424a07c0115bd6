/**
 * A million records per resource without holding them: starting stores only the (second, id) order,
 * 8 bytes a record, and builds no record; a page builds its own records and no others, so serving
 * costs the same from a million as from a hundred. No time limits: they measure the machine's load.
 */
import { startSimulator, type Simulator } from '../../simulator';
import { get, path, type Rec } from './helpers';

const MILLION = 1_000_000;
const SIZES = { tickets: MILLION, users: MILLION, organizations: 100_000, ticket_events: MILLION };
const RECORDS = Object.values(SIZES).reduce((a, b) => a + b, 0);
/** A served ticket is over a kilobyte of text; the order costs 8 bytes. Far below one, far above the other. */
const MAX_BYTES_PER_RECORD = 40;

let sim: Simulator;
afterAll(async () => {
  await sim?.close();
});

test('a million tickets, users and ticket events: built without a single record, in little memory per record, and served lazily', async () => {
  global.gc?.();
  const before = process.memoryUsage();
  sim = await startSimulator({ sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off' });
  const after = process.memoryUsage();
  expect(sim.stats().recordsGenerated).toBe(0);
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  expect(grown / RECORDS).toBeLessThan(MAX_BYTES_PER_RECORD);

  const first = await get(path(sim, '/api/v2/incremental/tickets/cursor', { start_time: 0, support_type_scope: 'all' }));
  expect(first.status).toBe(200);
  expect(first.json.tickets).toHaveLength(1000);
  expect(first.json.end_of_stream).toBe(false);
  expect(sim.stats().recordsGenerated).toBe(1000); // The page's records, and no others.

  // A page from the middle of the stream, and the next page through the cursor.
  sim.resetStats();
  const middle = await get(path(sim, '/api/v2/incremental/users', { start_time: ((first.json.tickets as Rec[])[999]!.generated_timestamp as number) + 15 * 86_400 }));
  const middleUsers = (middle.json.users as Rec[]).length;
  expect(middleUsers).toBeGreaterThanOrEqual(1000);
  expect(sim.stats().recordsGenerated).toBe(middleUsers);
  const next = await get(first.json.after_url as string);
  expect((next.json.tickets as Rec[])[0]!.id).not.toBe((first.json.tickets as Rec[])[999]!.id);

  // Records changed at run time merge into the stream without copying it.
  sim.updateRecord(undefined, 'tickets', 123_456);
  expect(sim.addRecords(undefined, 'tickets', 2)).toEqual([MILLION + 1, MILLION + 2]);
});

test('the work of a page does not grow with the account: a hundred records or a million, a page builds its own', async () => {
  const small = await startSimulator({ sizes: { tickets: 100, users: 10, organizations: 10, ticket_events: 10 }, recentWindowSeconds: 0, rateLimits: 'off' });
  try {
    const reply = await get(path(small, '/api/v2/incremental/tickets/cursor', { start_time: 0, per_page: 50, support_type_scope: 'all' }));
    expect(reply.json.tickets).toHaveLength(50);
    expect(small.stats().recordsGenerated).toBe(50);
  } finally {
    await small.close();
  }
});
