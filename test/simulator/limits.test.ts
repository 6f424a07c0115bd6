/** Account-wide rolling-window rate limits, Zendesk's headers and 429s, and the counters. */
import { startSimulator, type Simulator } from '../../simulator';
import { RATE_BUCKETS } from '../../zendesk/endpoints';
import { get, path, sleep } from './helpers';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

test('over the limit: 429, text/plain body, Retry-After, bucket and account headers; a 429 spends nothing', async () => {
  sim = await startSimulator({ sizes: { organizations: 10 }, recentWindowSeconds: 0, rateLimits: { 'incremental-exports': { requests: 3, seconds: 2 } } });
  const url = path(sim, '/api/v2/incremental/organizations', { start_time: 0 });
  const ok = [await get(url), await get(url), await get(url)];
  expect(ok.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(ok.map((r) => r.headers.get('zendesk-ratelimit-incremental-exports'))).toEqual([
    'total=3; remaining=2; resets=2',
    'total=3; remaining=1; resets=2',
    'total=3; remaining=0; resets=2',
  ]);
  expect(ok[0]!.headers.get('x-rate-limit')).toBe('700');
  expect(Number(ok[2]!.headers.get('x-rate-limit-remaining'))).toBe(697);
  expect(ok[0]!.headers.get('ratelimit-limit')).toBe('700');
  expect(ok[0]!.headers.get('ratelimit-remaining')).toBe('699');
  expect(Number(ok[0]!.headers.get('ratelimit-reset'))).toBeGreaterThan(0);

  const limited = await get(url);
  expect(limited.status).toBe(429);
  expect(limited.headers.get('content-type')).toBe('text/plain');
  expect(limited.text).toBe('Number of allowed API requests per minute exceeded');
  expect(limited.headers.get('retry-after')).toMatch(/^[12]$/);
  expect(limited.headers.get('zendesk-ratelimit-incremental-exports')).toMatch(/^total=3; remaining=0; resets=[12]$/);
  await get(url); // Rejected too; it must not push the window further.

  await sleep(Number(limited.headers.get('retry-after')) * 1000 + 50);
  expect((await get(url)).status).toBe(200);
  const stats = sim.stats();
  expect(stats.statuses[429]).toBe(2);
  expect(stats.statuses[200]).toBe(4);
  expect(stats.acceptedAt['default:incremental-exports']).toHaveLength(4);
  expect(stats.peakInWindow['incremental-exports']).toBe(3);
});

test('buckets come from the table: the users cursor export and the sample have their own', async () => {
  sim = await startSimulator({ sizes: { users: 10, tickets: 10 }, recentWindowSeconds: 0 });
  const cursor = await get(path(sim, '/api/v2/incremental/users/cursor', { start_time: 0 }));
  const limit = RATE_BUCKETS['incremental-exports-cursor'].budget;
  expect(cursor.headers.get('zendesk-ratelimit-incremental-exports-cursor')).toBe(`total=${limit.requests}; remaining=${limit.requests - 1}; resets=${limit.seconds}`);
  expect(cursor.headers.get('zendesk-ratelimit-incremental-exports')).toBeNull();
  const sample = await get(path(sim, '/api/v2/incremental/tickets/sample', { start_time: 0 }));
  expect(sample.headers.get('zendesk-ratelimit-incremental-exports-sample')).toMatch(/^total=10; remaining=9; resets=1200$/);
  const time = await get(path(sim, '/api/v2/incremental/users', { start_time: 0 }));
  expect(time.headers.get('zendesk-ratelimit-incremental-exports')).toMatch(/^total=10; remaining=9; /);
});

test('each account has its own buckets', async () => {
  sim = await startSimulator({ accounts: 2, sizes: { users: 5 }, recentWindowSeconds: 0, rateLimits: { 'incremental-exports': { requests: 1, seconds: 60 } } });
  expect((await get(path(sim, '/api/v2/incremental/users', { start_time: 0 }))).status).toBe(200);
  expect((await get(path(sim, '/api/v2/incremental/users', { start_time: 0 }))).status).toBe(429);
  expect((await get(`${sim.accountUrl('account2')}/api/v2/incremental/users?start_time=0`)).status).toBe(200);
  expect(sim.stats().requestsByAccount).toEqual({ default: 2, account2: 1 });
  expect(sim.stats().peakInWindowByAccount).toEqual({ 'default:incremental-exports': 1, 'account2:incremental-exports': 1 });
});

test('the peak counter is the most accepted requests in any window of the bucket, even with limits off', async () => {
  let clock = 1_000_000_000_000;
  sim = await startSimulator({ sizes: { users: 5 }, endTime: 900_000_000, recentWindowSeconds: 0, rateLimits: 'off', now: () => clock });
  const url = path(sim, '/api/v2/incremental/users', { start_time: 0 });
  // Bursts of 4, 7 and 5 requests; only the burst of 7 (plus the 5 within 60 s of it) can share a window.
  const burst = async (n: number) => {
    for (let i = 0; i < n; i++) expect((await get(url)).status).toBe(200);
  };
  await burst(4);
  clock += 61_000;
  await burst(7);
  clock += 30_000;
  await burst(5); // The 7 and these 5 share one window of 60 s.
  clock += 61_000;
  await burst(2);
  const stats = sim.stats();
  expect(stats.peakInWindow['incremental-exports']).toBe(12);
  expect(stats.acceptedAt['default:incremental-exports']).toHaveLength(18);
  sim.resetStats();
  expect(sim.stats()).toMatchObject({ requests: 0, peakInWindow: {}, acceptedAt: {} });
});

test('the window rolls: at most N in any S seconds, not N per fixed minute', async () => {
  let clock = 1_000_000_000_000;
  sim = await startSimulator({ sizes: { users: 5 }, endTime: 900_000_000, recentWindowSeconds: 0, rateLimits: { 'incremental-exports': { requests: 2, seconds: 10 } }, now: () => clock });
  const url = path(sim, '/api/v2/incremental/users', { start_time: 0 });
  expect((await get(url)).status).toBe(200); // t = 0
  clock += 6_000;
  expect((await get(url)).status).toBe(200); // t = 6
  clock += 3_000;
  const rejected = await get(url); // t = 9: the slot of t = 0 frees at t = 10.
  expect(rejected.status).toBe(429);
  expect(rejected.headers.get('retry-after')).toBe('1');
  clock += 1_500;
  expect((await get(url)).status).toBe(200); // t = 10.5
  expect((await get(url)).status).toBe(429); // t = 6 and t = 10.5 are in the window.
  const retry = Number((await get(url)).headers.get('retry-after'));
  expect(retry).toBe(6); // ceil(16 - 10.5)
});
