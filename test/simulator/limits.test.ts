/** Account-wide rolling-window rate limits, Zendesk's headers and 429s, and the counters. */
import { startSimulator, type Simulator } from '../../simulator';
import { RateLimits } from '../../simulator/limits';
import { RATE_BUCKETS } from '../../zendesk/endpoints';
import { get, path, sleep } from './helpers';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

test('over the limit: 429, the recorded JSON body, Retry-After, bucket and account headers; a 429 spends nothing', async () => {
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
  expect(limited.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(limited.text).toBe('{"error":"APIRateLimitExceeded","description":"Number of allowed incremental export API requests per minute exceeded"}');
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

test('rateLimitAnswer "text": the 429 body is the account limit\'s text/plain sentence, still with Retry-After', async () => {
  sim = await startSimulator({ sizes: { users: 5 }, recentWindowSeconds: 0, rateLimitAnswer: 'text', rateLimits: { 'incremental-exports': { requests: 1, seconds: 60 } } });
  const url = path(sim, '/api/v2/incremental/users', { start_time: 0 });
  expect((await get(url)).status).toBe(200);
  const limited = await get(url);
  expect(limited.status).toBe(429);
  expect(limited.headers.get('content-type')).toBe('text/plain');
  expect(limited.text).toBe('Number of allowed API requests per minute exceeded');
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
});

describe('header generations', () => {
  const url = () => path(sim, '/api/v2/incremental/users', { start_time: 0 });

  test('by default (as recorded in 2024): x-rate-limit with ratelimit-limit/-remaining/-reset, and the bucket header', async () => {
    sim = await startSimulator({ sizes: { users: 5 }, recentWindowSeconds: 0 });
    const { headers } = await get(url());
    expect([headers.get('x-rate-limit'), headers.get('x-rate-limit-remaining')]).toEqual(['700', '699']);
    expect([headers.get('ratelimit-limit'), headers.get('ratelimit-remaining'), headers.get('ratelimit-reset')]).toEqual(['700', '699', '60']);
    expect(headers.get('rate-limit-limit')).toBeNull();
    expect(headers.get('zendesk-ratelimit-incremental-exports')).toBe('total=10; remaining=9; resets=60');
  });

  test('accountHeaders "rate-limit" (as recorded in 2023): rate-limit-limit/-remaining/-reset instead', async () => {
    sim = await startSimulator({ sizes: { users: 5 }, recentWindowSeconds: 0, accountHeaders: 'rate-limit' });
    const { headers } = await get(url());
    expect([headers.get('x-rate-limit'), headers.get('x-rate-limit-remaining')]).toEqual(['700', '699']);
    expect([headers.get('rate-limit-limit'), headers.get('rate-limit-remaining'), headers.get('rate-limit-reset')]).toEqual(['700', '699', '60']);
    expect(headers.get('ratelimit-limit')).toBeNull();
  });

  test('bucketHeader false (as in the 2023-2024 recordings): no zendesk-ratelimit-* header, not even on a 429; the limit still holds', async () => {
    sim = await startSimulator({ sizes: { users: 5 }, recentWindowSeconds: 0, bucketHeader: false, rateLimits: { 'incremental-exports': { requests: 1, seconds: 60 } } });
    const ok = await get(url());
    const limited = await get(url());
    expect([ok.status, limited.status]).toEqual([200, 429]);
    for (const reply of [ok, limited]) {
      expect([...reply.headers.keys()].filter((h) => h.startsWith('zendesk-ratelimit'))).toEqual([]);
      expect(reply.headers.get('x-rate-limit')).toBe('700');
    }
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    sim.setFaults({ rateLimitNext: 1, retryAfterSeconds: 5 });
    const foreign = await get(path(sim, '/api/v2/incremental/users/cursor', { start_time: 0 }));
    expect(foreign.status).toBe(429);
    expect([...foreign.headers.keys()].filter((h) => h.startsWith('zendesk-ratelimit'))).toEqual([]);
  });
});

describe('RateLimits on its own (explicit clock, no server)', () => {
  test('spends per account and bucket, reports both header generations, and keeps the peak', () => {
    const limits = new RateLimits({ budgets: { 'incremental-exports': { requests: 2, seconds: 10 } }, accountHeaders: 'rate-limit', bucketHeader: true });
    expect(limits.accountHeaders('a', 0)).toMatchObject({ 'X-Rate-Limit': '700', 'X-Rate-Limit-Remaining': '699', 'rate-limit-limit': '700', 'rate-limit-reset': '60' });
    expect(limits.take('a', 'incremental-exports', 0)).toEqual({ ok: true, headers: { 'zendesk-ratelimit-incremental-exports': 'total=2; remaining=1; resets=10' } });
    expect(limits.take('a', 'incremental-exports', 4000)).toMatchObject({ ok: true });
    expect(limits.take('a', 'incremental-exports', 5000)).toMatchObject({ ok: false, retryAfter: 5 });
    expect(limits.take('b', 'incremental-exports', 5000)).toMatchObject({ ok: true }); // Another account, another bucket.
    expect(limits.snapshot()).toMatchObject({ peakInWindow: { 'incremental-exports': 2 }, peakInWindowByAccount: { 'a:incremental-exports': 2, 'b:incremental-exports': 1 } });
    const quiet = new RateLimits({ budgets: 'off', accountHeaders: 'ratelimit', bucketHeader: true });
    expect(quiet.take('a', 'sample', 0)).toEqual({ ok: true, headers: {} });
    expect(Object.keys(quiet.accountHeaders('a', 0))).toContain('ratelimit-remaining');
  });
});
