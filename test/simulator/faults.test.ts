/** Injected faults: 5xx bursts, dropped connections, stalls, truncated bodies, foreign 429s; and the control surface. */
import { startSimulator, type Simulator } from '../../simulator';
import { get, path, post } from './helpers';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ sizes: { organizations: 30 }, recentWindowSeconds: 0, rateLimits: 'off' });
});
afterEach(async () => {
  await sim?.close();
});
const orgs = () => path(sim, '/api/v2/incremental/organizations', { start_time: 0 });

test('failNext: a burst of 5xx in the statuses given, with varying bodies, then normal service', async () => {
  sim.setFaults({ failNext: 4, failStatus: [500, 503] });
  const replies = [await get(orgs()), await get(orgs()), await get(orgs()), await get(orgs()), await get(orgs())];
  expect(replies.map((r) => r.status)).toEqual([500, 503, 500, 503, 200]);
  expect(replies[0]!.json).toHaveProperty('error');
  expect(replies[1]!.headers.get('content-type')).toBe('text/plain');
  expect(replies[1]!.text).toBe('503 Service Unavailable');
  expect(replies[2]!.headers.get('content-type')).toBe('text/html');
  expect(sim.stats().faults.failed).toBe(4);
  expect(sim.stats().statuses).toEqual({ 500: 2, 503: 2, 200: 1 });
});

test('dropNext: the connection closes without an answer', async () => {
  sim.setFaults({ dropNext: 1 });
  await expect(fetch(orgs())).rejects.toThrow();
  expect((await get(orgs())).status).toBe(200);
  expect(sim.stats().faults.dropped).toBe(1);
});

test('malformedNext: a 200 whose JSON is cut short', async () => {
  sim.setFaults({ malformedNext: 1 });
  const bad = await get(orgs());
  expect(bad.status).toBe(200);
  expect(() => JSON.parse(bad.text)).toThrow();
  expect(bad.text.startsWith('{"organizations":[')).toBe(true);
  expect((await get(orgs())).json.organizations).toHaveLength(30);
});

test('rateLimitNext: 429 with the Retry-After given, as when another app spent the budget', async () => {
  sim.setFaults({ rateLimitNext: 2, retryAfterSeconds: 137 });
  for (let i = 0; i < 2; i++) {
    const reply = await get(orgs());
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('137');
    expect(reply.json).toEqual({ error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' });
  }
  expect((await get(orgs())).status).toBe(200);
  expect(sim.stats().faults.rateLimited).toBe(2);
});

test('stallNext: the answer comes only after stallMs', async () => {
  sim.setFaults({ stallNext: 1, stallMs: 400 });
  const started = Date.now();
  expect((await get(orgs())).status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  const quick = Date.now();
  await get(orgs());
  expect(Date.now() - quick).toBeLessThan(300);
  // A client that gives up first sees a timeout; close() does not wait for the stall.
  sim.setFaults({ stallNext: 1, stallMs: 60_000 });
  await expect(fetch(orgs(), { signal: AbortSignal.timeout(200) })).rejects.toThrow();
});

test('rates are drawn from the seed: the same seed fails the same requests', async () => {
  const pattern = async (s: Simulator) => {
    s.setFaults({ failRate: 0.3 });
    const out: number[] = [];
    for (let i = 0; i < 30; i++) out.push((await get(path(s, '/api/v2/incremental/organizations', { start_time: 0 }))).status);
    return out;
  };
  const twin = await startSimulator({ sizes: { organizations: 30 }, recentWindowSeconds: 0, rateLimits: 'off' });
  try {
    const a = await pattern(sim);
    expect(a).toEqual(await pattern(twin));
    expect(a.filter((s) => s !== 200).length).toBeGreaterThan(2);
    expect(a.filter((s) => s === 200).length).toBeGreaterThan(10);
  } finally {
    await twin.close();
  }
});

test('the control surface drives another process: faults, update, add, stats, expected as NDJSON', async () => {
  expect((await post(`${sim.url}/__sim/faults`, { failNext: 1, failStatus: [502] })).json).toMatchObject({ failNext: 1, failStatus: [502] });
  expect((await get(orgs())).status).toBe(502);
  const updated = await post(`${sim.url}/__sim/update`, { resource: 'organizations', id: 2 });
  expect(updated.json).toMatchObject({ id: 2, name: 'Organization 2 (revision 1)' });
  expect((await post(`${sim.url}/__sim/add`, { resource: 'organizations', n: 3 })).json).toEqual({ ids: [31, 32, 33] });
  expect((await post(`${sim.url}/__sim/update`, { resource: 'organizations', id: 999 })).status).toBe(400);
  expect((await post(`${sim.url}/__sim/add`, { resource: 'widgets', n: 1 })).status).toBe(400);

  const stats = (await get(`${sim.url}/__sim/stats`, null)).json;
  expect(stats).toMatchObject({ requests: 1, statuses: { 502: 1 }, requestsByEndpoint: { organizations: 1 } });

  const res = await fetch(`${sim.url}/__sim/expected?resource=organizations`);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  const texts = (await res.text()).trim().split('\n');
  expect(texts).toEqual(sim.expectedText(undefined, 'organizations')); // Each line as the record is served, byte for byte.
  const lines = texts.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toEqual(sim.expected(undefined, 'organizations'));
  expect(lines).toHaveLength(33);

  await post(`${sim.url}/__sim/reset-stats`, {});
  expect(sim.stats().requests).toBe(0);
});
