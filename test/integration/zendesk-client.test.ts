/**
 * Contract tests: the Zendesk API layer (HTTP client, paging, auth, errors) against the simulator over
 * real HTTP, for all seven endpoints, both end_time conventions, and the answers Zendesk really gives
 * (429 bodies, 422 wordings, rate-limit header generations, faults). No Temporal here.
 */
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_API_TOKEN, DEFAULT_OAUTH, startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { accountUrl } from '../../zendesk/account';
import { createAuthProvider, fileTokenStore, memoryTokenStore, type Credentials, type TokenStore } from '../../zendesk/auth';
import { ENDPOINTS, endpointSpec, RATE_BUCKETS, type EndpointId, type Resource } from '../../zendesk/endpoints';
import type { ZendeskRateLimitedError } from '../../zendesk/errors';
import { ZendeskClient } from '../../zendesk/http-client';
import { advance, requestParams, startPosition, type ExportPosition } from '../../zendesk/paging';
import { accountResetSeconds, readRateLimitHeaders } from '../../zendesk/rate-limit-headers';

const SIZES = { tickets: 130, users: 70, organizations: 40, ticket_events: 90 };
const API_TOKEN: Credentials = { kind: 'api_token', ...DEFAULT_API_TOKEN };

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-client-'));
  tmpDirs.push(dir);
  return dir;
}

/** A simulator for the tests of one describe block, started before them and closed after. */
function useSimulator(options: SimulatorOptions = {}): { readonly sim: Simulator } {
  const shared = {} as { sim: Simulator };
  beforeAll(async () => {
    shared.sim = await startSimulator({ sizes: SIZES, rateLimits: 'off', recentWindowSeconds: 0, ...options });
  });
  afterAll(async () => {
    await shared.sim?.close();
  });
  return shared;
}

function clientOf(sim: Simulator, credentials: Credentials = API_TOKEN, store: TokenStore = memoryTokenStore()): ZendeskClient {
  const url = accountUrl('acme', sim.url);
  return new ZendeskClient({ account: 'acme', url, auth: createAuthProvider('acme', url, credentials, store), timeoutMs: 2_000 });
}

/** Pages to end_of_stream as the page activity does: requestParams, fetchPage, advance. */
async function exportAll(client: ZendeskClient, endpoint: EndpointId, resource: Resource, perPage?: number) {
  const first = endpointSpec(endpoint);
  let at: ExportPosition = startPosition(endpoint, first.paging === 'cursor' ? { kind: 'cursor', startTime: 0, cursor: null } : { kind: 'time', startTime: 0 }, perPage);
  const texts: string[] = [];
  const notes: string[] = [];
  let repeats = 0;
  for (let pages = 1; pages < 500; pages++) {
    const page = await client.fetchPage(endpointSpec(at.endpoint), resource, requestParams(at, { supportTypeScope: 'all' }));
    const step = advance(at, resource, page, Math.floor(Date.now() / 1000));
    if (step.kind !== 'moved') throw new Error(step.message);
    texts.push(...step.fresh.map((r) => r.text));
    repeats += step.repeats;
    if (step.note) notes.push(step.note);
    at = step.at;
    if (step.endOfStream) return { texts, pages, at, notes, repeats };
  }
  throw new Error('no end_of_stream');
}

const everyEndpoint = ENDPOINTS.flatMap((e) => e.resources.map((resource) => ({ id: e.id as EndpointId, resource })));
const timeEndpoints = everyEndpoint.filter(({ id }) => endpointSpec(id).paging === 'time');

describe('end_time = last second + 1 (recorded): all seven endpoints page to the end, each version once, byte for byte', () => {
  const s = useSimulator();
  test.each(everyEndpoint)('$id ($resource)', async ({ id, resource }) => {
    const { texts, at, repeats } = await exportAll(clientOf(s.sim), id, resource, id === 'sample' ? undefined : 25);
    expect(texts).toEqual(s.sim.expectedText(undefined, resource, { supportTypeScope: 'all' }));
    if (endpointSpec(id).paging === 'time') expect(repeats).toBe(0); // Pages of whole seconds never overlap.
    // The last page still names where the next poll starts.
    if (endpointSpec(id).paging === 'cursor') expect(at.next.kind === 'cursor' && at.next.cursor).toBeTruthy();
  });
});

describe('end_time = last second (zenpy#451): time pages overlap, and the repeats are dropped', () => {
  const s = useSimulator({ timeBoundary: 'same-second' });
  test.each(timeEndpoints)('$id ($resource)', async ({ id, resource }) => {
    const { texts, pages, repeats } = await exportAll(clientOf(s.sim), id, resource, id === 'sample' ? undefined : 25);
    expect(texts).toEqual(s.sim.expectedText(undefined, resource, { supportTypeScope: 'all' }));
    if (pages > 1) expect(repeats).toBeGreaterThan(0);
  });
});

describe('a bulk update: 30 records of each resource share one second, 10 asked per page', () => {
  describe.each(['next-second', 'same-second'] as const)('grown pages, end_time %s', (timeBoundary) => {
    const s = useSimulator({ sameSecond: 30, timeBoundary });
    test.each([
      ['tickets_time', 'tickets'],
      ['organizations', 'organizations'],
      ['ticket_events', 'ticket_events'],
    ] as const)('%s moves past the shared second without a detour', async (id, resource) => {
      const { texts, notes, at } = await exportAll(clientOf(s.sim), id, resource, 10);
      expect(texts).toEqual(s.sim.expectedText(undefined, resource, { supportTypeScope: 'all' }));
      expect(notes).toEqual([]);
      expect(at.endpoint).toBe(id);
    });
  });

  describe('pages cut at per_page (never grown): the stuck second is escaped', () => {
    const s = useSimulator({ sameSecond: 30, growPages: false });
    test.each([
      ['tickets_time', 'tickets', /switched from tickets_time to tickets_cursor/],
      ['users_time', 'users', /switched from users_time to users_cursor/],
      ['organizations', 'organizations', /asking for 20 per page/],
    ] as const)('%s', async (id, resource, note) => {
      const { texts, notes } = await exportAll(clientOf(s.sim), id, resource, 10);
      expect(texts).toEqual(s.sim.expectedText(undefined, resource, { supportTypeScope: 'all' }));
      expect(notes[0]).toMatch(note);
    });
  });
});

describe('429', () => {
  describe.each([
    ['json', /APIRateLimitExceeded - Number of allowed incremental export API requests per minute exceeded/],
    ['text', /: Number of allowed API requests per minute exceeded$/],
  ] as const)('with the %s body', (rateLimitAnswer, words) => {
    const s = useSimulator({ rateLimitAnswer, rateLimits: { 'incremental-exports': { requests: 2, seconds: 60 } } });

    test("from another app: Retry-After comes back typed, with Zendesk's words", async () => {
      s.sim.setFaults({ rateLimitNext: 1, retryAfterSeconds: 42 });
      const err = await clientOf(s.sim).fetchPage(endpointSpec('organizations'), 'organizations', { start_time: '0' }).catch((e: Error) => e);
      expect(err).toMatchObject({ type: 'ZendeskRateLimitedError', retryAfterSeconds: 42, retryable: true, capped: false, rateLimit: { remaining: 0, resetsSeconds: 42 } });
      expect((err as Error).message).toMatch(words);
    });

    test('from the bucket itself: the third request of two a minute waits for the window', async () => {
      const c = clientOf(s.sim);
      const ticketEvents = endpointSpec('ticket_events');
      const first = await c.fetchPage(ticketEvents, 'ticket_events', { start_time: '0' });
      expect(first.rateLimit).toMatchObject({ bucket: RATE_BUCKETS['incremental-exports'].header, total: 2 });
      await c.fetchPage(ticketEvents, 'ticket_events', { start_time: '0' });
      const err = (await c.fetchPage(ticketEvents, 'ticket_events', { start_time: '0' }).then(() => undefined, (e: unknown) => e)) as ZendeskRateLimitedError;
      expect(err).toMatchObject({ type: 'ZendeskRateLimitedError', rateLimit: { total: 2, remaining: 0 } });
      expect(err.retryAfterSeconds).toBeGreaterThan(0);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(60);
      expect(err.message).toMatch(words);
    });
  });
});

describe('422 "Too recent start_time" in each wording means caught up', () => {
  describe.each(['json-5-minutes', 'text-5-minutes', 'json-1-minute'] as const)('%s', (tooRecentAnswer) => {
    const s = useSimulator({ tooRecentAnswer, recentWindowSeconds: 60 });
    test.each(['tickets_time', 'tickets_cursor', 'organizations'] as const)('%s', async (id) => {
      const resource = endpointSpec(id).resources[0]!;
      const recent = String(Math.floor(Date.now() / 1000) - 10);
      const err = await clientOf(s.sim).fetchPage(endpointSpec(id), resource, { start_time: recent }).catch((e: Error) => e);
      expect(err).toMatchObject({ type: 'ZendeskTooRecentError', status: 422, retryable: false });
      expect((err as Error).message).toMatch(/caught up: .*Too recent start_time/);
    });
  });
});

describe('rate-limit headers', () => {
  /** The headers of one answer, as a plain client sees them. */
  async function rawHeaders(sim: Simulator, p: string): Promise<Record<string, string>> {
    const res = await fetch(`${sim.url}${p}`, { headers: { Authorization: `Basic ${Buffer.from(`${DEFAULT_API_TOKEN.email}/token:${DEFAULT_API_TOKEN.token}`).toString('base64')}` } });
    await res.text();
    return Object.fromEntries(res.headers.entries());
  }

  describe.each([
    ['ratelimit', '2024'],
    ['rate-limit', '2023'],
  ] as const)('%s-* (%s)', (accountHeaders, _recorded) => {
    const s = useSimulator({ accountHeaders, rateLimits: {} });

    test('the account limit and its reset are read', async () => {
      const page = await clientOf(s.sim).fetchPage(endpointSpec('organizations'), 'organizations', { start_time: '0' });
      expect(page.rateLimit.accountLimit).toBe(700);
      expect(page.rateLimit.accountRemaining).toBeLessThan(700);
      const headers = await rawHeaders(s.sim, '/api/v2/incremental/organizations?start_time=0');
      expect(Object.keys(headers)).toContain(`${accountHeaders}-reset`);
      expect(accountResetSeconds(headers)).toBeGreaterThan(0);
      expect(readRateLimitHeaders(headers, RATE_BUCKETS['incremental-exports'].header)).toMatchObject({ accountLimit: 700, total: 10 });
    });
  });

  describe('the bucket header, when sent', () => {
    const s = useSimulator({ rateLimits: {} });
    test.each([
      ['organizations', 'incremental-exports', 10],
      ['users_cursor', 'incremental-exports-cursor', 20],
      ['sample', 'sample', 10],
    ] as const)('%s reports %s', async (id, bucket, total) => {
      const page = await clientOf(s.sim).fetchPage(endpointSpec(id), endpointSpec(id).resources[0]!, { start_time: '0' });
      expect(page.rateLimit).toMatchObject({ bucket: RATE_BUCKETS[bucket].header, total, remaining: total - 1 });
      expect(page.rateLimit.resetsSeconds).toBeGreaterThan(0);
    });
  });

  describe('the bucket header, when absent (the 2023-2024 recordings)', () => {
    const s = useSimulator({ bucketHeader: false, rateLimits: {} });
    test('leaves the bucket unknown, and the account limit still read', async () => {
      const page = await clientOf(s.sim).fetchPage(endpointSpec('organizations'), 'organizations', { start_time: '0' });
      expect(page.rateLimit).toEqual({ accountLimit: 700, accountRemaining: expect.any(Number) });
    });
  });
});

describe('faults and credentials', () => {
  const s = useSimulator();
  beforeEach(() => {
    s.sim.setFaults({ failNext: 0, dropNext: 0, malformedNext: 0, rateLimitNext: 0, stallNext: 0 });
  });

  test.each([
    ['a 500/503 burst', { failNext: 1 }],
    ['a dropped connection', { dropNext: 1 }],
    ['a truncated body', { malformedNext: 1 }],
    ['a stall past the timeout', { stallNext: 1, stallMs: 4_000 }],
  ])('%s is transient, and the next try succeeds', async (_name, faults) => {
    s.sim.setFaults(faults);
    const c = clientOf(s.sim);
    const users = endpointSpec('users_cursor');
    await expect(c.fetchPage(users, 'users', { start_time: '0' })).rejects.toMatchObject({ type: 'ZendeskTransientError', retryable: true });
    expect((await c.fetchPage(users, 'users', { start_time: '0' })).records.length).toBeGreaterThan(0);
  });

  test('a bad token is an auth failure naming the account and method, never the token or its owner', async () => {
    const err = await clientOf(s.sim, { kind: 'api_token', email: DEFAULT_API_TOKEN.email, token: 'not-the-token' })
      .fetchPage(endpointSpec('tickets_cursor'), 'tickets', { start_time: '0' })
      .catch((e: Error) => e);
    expect(err).toMatchObject({ type: 'ZendeskAuthError', retryable: false, status: 401 });
    expect((err as Error).message).toMatch(/account "acme".*\(API token\)/);
    expect((err as Error).message).not.toContain(DEFAULT_API_TOKEN.email);
    expect((err as Error).message).not.toContain('not-the-token');
  });
});

describe('OAuth', () => {
  let clock = Date.now();
  const s = useSimulator({ now: () => clock });

  test('an access token expiring mid-export is refreshed; each rotated refresh token is stored', async () => {
    const dir = tmp();
    const store = fileTokenStore(path.join(dir, 'tokens.json'));
    const c = clientOf(s.sim, { kind: 'oauth_refresh', clientId: DEFAULT_OAUTH.clientId, clientSecret: DEFAULT_OAUTH.clientSecret, refreshToken: DEFAULT_OAUTH.refreshToken }, store);
    let at = startPosition('tickets_cursor', { kind: 'cursor', startTime: 0, cursor: null }, 10);
    const stored: string[] = [];
    for (let page = 0; page < 4; page++) {
      const step = advance(at, 'tickets', await c.fetchPage(endpointSpec(at.endpoint), 'tickets', requestParams(at, {})), Math.floor(Date.now() / 1000));
      if (step.kind !== 'moved') throw new Error(step.message);
      at = step.at;
      stored.push((JSON.parse(readFileSync(path.join(dir, 'tokens.json'), 'utf8')) as Record<string, string>).acme!);
      clock += 31 * 60_000; // Past the simulator's 30-minute access-token lifetime.
    }
    expect(new Set(stored).size).toBe(4); // A new refresh token after every expiry, kept durably.
    expect(stored).not.toContain(DEFAULT_OAUTH.refreshToken); // The first one is spent.
    expect(s.sim.stats().tokensRefreshed).toBeGreaterThanOrEqual(4);
  });

  describe('the token request never follows a redirect: its body holds the client secret and refresh token', () => {
    const servers: http.Server[] = [];
    afterEach(async () => {
      await Promise.all(
        servers.splice(0).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    });

    async function listen(handler: http.RequestListener): Promise<string> {
      const server = http.createServer(handler);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    test.each<[string, Credentials]>([
      ['refresh token', { kind: 'oauth_refresh', clientId: 'id', clientSecret: 'client-secret', refreshToken: 'refresh-secret' }],
      ['client credentials', { kind: 'oauth_client_credentials', clientId: 'id', clientSecret: 'client-secret' }],
    ])('%s grant', async (_name, credentials) => {
      let stolen = 0;
      const elsewhere = await listen((req, res) => {
        stolen++;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"access_token":"from-elsewhere","expires_in":1800}');
      });
      const asked: string[] = [];
      const account = await listen((req, res) => {
        asked.push(`${req.method} ${req.url}`);
        res.writeHead(307, { Location: `${elsewhere}/oauth/tokens` });
        res.end();
      });
      const auth = createAuthProvider('acme', accountUrl('acme', account), credentials, memoryTokenStore());
      const err = await auth.authorization().catch((e: Error) => e);
      expect(err).toMatchObject({ type: 'ZendeskAuthError', status: 307 });
      expect((err as Error).message).not.toMatch(/secret/);
      expect(asked).toEqual(['POST /oauth/tokens']);
      expect(stolen).toBe(0);
    });
  });
});
