/** A million records per resource: a fast start, modest memory, pages served from anywhere in the stream. */
import { startSimulator, type Simulator } from '../../simulator';
import { get, path, type Rec } from './helpers';

const MILLION = 1_000_000;
let sim: Simulator;
afterAll(async () => {
  await sim?.close();
});

test('a million tickets, users and ticket events start in seconds, in little memory, and serve pages', async () => {
  global.gc?.();
  const before = process.memoryUsage();
  const started = Date.now();
  sim = await startSimulator({ sizes: { tickets: MILLION, users: MILLION, organizations: 100_000, ticket_events: MILLION }, recentWindowSeconds: 0, rateLimits: 'off' });
  const startup = Date.now() - started;
  expect(startup).toBeLessThan(10_000);
  const after = process.memoryUsage();
  // Keys only: 8 bytes a record; the records themselves are generated per page.
  const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  expect(grown).toBeLessThan(120 * 1024 * 1024);

  const first = await get(path(sim, '/api/v2/incremental/tickets/cursor', { start_time: 0, support_type_scope: 'all' }));
  expect(first.status).toBe(200);
  expect(first.json.tickets).toHaveLength(1000);
  expect(first.json.end_of_stream).toBe(false);

  // A page from the middle of the stream, and the same page again through its cursor.
  const middle = await get(path(sim, '/api/v2/incremental/users', { start_time: (first.json.tickets as Rec[])[999]!.generated_timestamp as number + 15 * 86_400 }));
  expect((middle.json.users as Rec[]).length).toBeGreaterThanOrEqual(1000);
  const next = await get(first.json.after_url as string);
  expect((next.json.tickets as Rec[])[0]!.id).not.toBe((first.json.tickets as Rec[])[999]!.id);

  // Records changed at run time merge into the stream without copying it.
  sim.updateRecord(undefined, 'tickets', 123_456);
  expect(sim.addRecords(undefined, 'tickets', 2)).toEqual([MILLION + 1, MILLION + 2]);
});
