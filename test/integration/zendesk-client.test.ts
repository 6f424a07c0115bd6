/**
 * Contract tests: the Zendesk API layer (HTTP client, auth, errors) against the simulator over real
 * HTTP, for all seven endpoints and the failures Zendesk really produces. No Temporal here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_API_TOKEN, DEFAULT_OAUTH, startSimulator, type Simulator } from '../../simulator';
import { createAuthProvider, fileTokenStore, type Credentials } from '../../zendesk/auth';
import { dropBoundaryRepeats, EMPTY_BOUNDARY, type Boundary } from '../../zendesk/boundary';
import { ENDPOINTS, endpointSpec, RESOURCE_SPECS, type EndpointSpec, type Resource } from '../../zendesk/endpoints';
import { ZendeskClient } from '../../zendesk/http-client';
import type { Position } from '../../zendesk/page';

const SIZES = { tickets: 130, users: 70, organizations: 40, ticket_events: 90 };
let sim: Simulator;
let clock = Date.now();

beforeAll(async () => {
  sim = await startSimulator({ sizes: SIZES, rateLimits: 'off', recentWindowSeconds: 0, now: () => clock });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  clock = Date.now();
  sim.setFaults({ failNext: 0, dropNext: 0, malformedNext: 0, rateLimitNext: 0, stallNext: 0 });
});

function client(credentials: Credentials = { kind: 'api_token', ...DEFAULT_API_TOKEN }, store = fileTokenStore(path.join(tmp(), 'tokens.json'))) {
  return new ZendeskClient({ account: 'acme', baseUrl: sim.url, auth: createAuthProvider('acme', sim.url, credentials, store), timeoutMs: 2_000 });
}

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'zendesk-client-'));
}

async function exportAll(c: ZendeskClient, endpoint: EndpointSpec, resource: Resource, perPage?: number) {
  let position: Position = endpoint.paging === 'cursor' ? { kind: 'cursor', startTime: 0, cursor: null } : { kind: 'time', startTime: 0 };
  let boundary: Boundary = EMPTY_BOUNDARY;
  const written: Record<string, unknown>[] = [];
  for (let pages = 1; pages < 500; pages++) {
    const page = await c.fetchPage(endpoint, resource, position, { perPage });
    const out = dropBoundaryRepeats(page.records, RESOURCE_SPECS[resource].versionField, boundary, endpoint.paging === 'time' ? page.next.startTime : undefined);
    written.push(...out.fresh);
    boundary = endpoint.paging === 'time' ? out.boundary : EMPTY_BOUNDARY;
    position = page.next;
    if (page.endOfStream) return { written, pages, position };
  }
  throw new Error('no end_of_stream');
}

describe('all seven endpoints page to the end, each record version once', () => {
  const cases = ENDPOINTS.flatMap((e) => e.resources.map((resource) => ({ id: e.id, resource })));
  test.each(cases)('$id ($resource)', async ({ id, resource }) => {
    const endpoint = endpointSpec(id);
    const { written, position } = await exportAll(client(), endpoint, resource, id === 'sample' ? undefined : 25);
    const expected = sim.expected(undefined, resource, { supportTypeScope: 'all' });
    const keys = (rs: Record<string, unknown>[]) => rs.map((r) => String(r.id)).sort();
    expect(keys(written)).toEqual(keys(expected));
    // The last page still names where the next poll starts.
    if (endpoint.paging === 'cursor') expect(position.kind === 'cursor' && position.cursor).toBeTruthy();
  });
});

test('429: Retry-After and the bucket state come back typed', async () => {
  sim.setFaults({ rateLimitNext: 1, retryAfterSeconds: 42 });
  await expect(client().fetchPage(endpointSpec('organizations'), 'organizations', { kind: 'time', startTime: 0 })).rejects.toMatchObject({
    type: 'ZendeskRateLimitedError',
    retryAfterSeconds: 42,
    retryable: true,
  });
});

test.each([
  ['a 500/503 burst', { failNext: 1 }],
  ['a dropped connection', { dropNext: 1 }],
  ['a truncated body', { malformedNext: 1 }],
  ['a stall past the timeout', { stallNext: 1, stallMs: 4_000 }],
])('%s is transient, and the next try succeeds', async (_name, faults) => {
  sim.setFaults(faults);
  const c = client();
  const endpoint = endpointSpec('users_cursor');
  const position: Position = { kind: 'cursor', startTime: 0, cursor: null };
  await expect(c.fetchPage(endpoint, 'users', position)).rejects.toMatchObject({ type: 'ZendeskTransientError', retryable: true });
  expect((await c.fetchPage(endpoint, 'users', position)).records.length).toBeGreaterThan(0);
});

test('the one-minute rule answers "too recent", which means caught up', async () => {
  await expect(
    client().fetchPage(endpointSpec('tickets_time'), 'tickets', { kind: 'time', startTime: Math.floor(clock / 1000) + 60 }),
  ).rejects.toMatchObject({ type: 'ZendeskTooRecentError', status: 422 });
});

test('a bad token is an auth failure naming the account and method, never the token', async () => {
  const err = await client({ kind: 'api_token', email: DEFAULT_API_TOKEN.email, token: 'not-the-token' })
    .fetchPage(endpointSpec('tickets_cursor'), 'tickets', { kind: 'cursor', startTime: 0, cursor: null })
    .catch((e: Error) => e);
  expect(err).toMatchObject({ type: 'ZendeskAuthError', retryable: false, status: 401 });
  expect((err as Error).message).toMatch(/account "acme".*API token of admin@example.com/);
  expect((err as Error).message).not.toContain('not-the-token');
});

test('an OAuth access token expiring mid-export is refreshed; each rotated refresh token is stored', async () => {
  const dir = tmp();
  const store = fileTokenStore(path.join(dir, 'tokens.json'));
  const c = client({ kind: 'oauth_refresh', clientId: DEFAULT_OAUTH.clientId, clientSecret: DEFAULT_OAUTH.clientSecret, refreshToken: DEFAULT_OAUTH.refreshToken }, store);
  const endpoint = endpointSpec('tickets_cursor');
  let position: Position = { kind: 'cursor', startTime: 0, cursor: null };
  const stored: string[] = [];
  for (let page = 0; page < 4; page++) {
    const result = await c.fetchPage(endpoint, 'tickets', position, { perPage: 10 });
    position = result.next;
    stored.push(JSON.parse(readFileSync(path.join(dir, 'tokens.json'), 'utf8')).acme);
    clock += 31 * 60_000; // Past the simulator's 30-minute access-token lifetime.
  }
  expect(new Set(stored).size).toBe(4); // A new refresh token after every expiry, kept durably.
  expect(stored).not.toContain(DEFAULT_OAUTH.refreshToken); // The first one is spent.
  expect(sim.stats().tokensRefreshed).toBeGreaterThanOrEqual(4);
  rmSync(dir, { recursive: true, force: true });
});
