/** Pages, rate-limit headers, auth headers, and the HTTP client against small local servers. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountUrl, type AccountUrl } from '../../zendesk/account';
import { createAuthProvider, type AuthProvider } from '../../zendesk/auth';
import { endpointSpec } from '../../zendesk/endpoints';
import { AnswerMemory } from '../../zendesk/answer-memory';
import { parsePage, ZendeskClient } from '../../zendesk/http-client';
import { accountResetSeconds, MAX_WAIT_SECONDS, readRateLimitHeaders, retryAfter } from '../../zendesk/rate-limit-headers';

const BUCKET = 'zendesk-ratelimit-incremental-exports';

describe('pages', () => {
  const ticketsTime = endpointSpec('tickets_time');

  it('keeps each record with its exact text, and only the sideloads asked for', () => {
    const text =
      '{"tickets":[{"id":1,"status":"deleted","score":1.0,"generated_timestamp":100,"extra":{"x":1}}, {"id":12345678901234567890,"subject":"caf\\u00e9 a\\/b"}],' +
      '"users":[{"id":7}],"groups":[{"id":8}],"count":2,"end_time":150,"end_of_stream":false}';
    const page = parsePage(ticketsTime, 'tickets', ['users'], text, {});
    expect(page.records.map((r) => r.text)).toEqual(['{"id":1,"status":"deleted","score":1.0,"generated_timestamp":100,"extra":{"x":1}}', '{"id":12345678901234567890,"subject":"caf\\u00e9 a\\/b"}']);
    // Only the fields the export reasons about are parsed; the rest travels in the text.
    expect(page.records[0]!.value).toEqual({ id: 1, generated_timestamp: 100 });
    expect(Object.keys(page.sideloads)).toEqual(['users']);
    expect(page.sideloads.users).toEqual([{ value: { id: 7 }, text: '{"id":7}' }]);
    expect(page).toMatchObject({ endTime: 150, endOfStream: false });
  });

  it('takes end_time from next_page when Zendesk leaves it out', () => {
    const page = parsePage(ticketsTime, 'tickets', [], '{"tickets":[],"next_page":"https://acme.zendesk.com/api/v2/incremental/tickets.json?start_time=321&per_page=5"}', {});
    expect(page.endTime).toBe(321);
    expect(parsePage(ticketsTime, 'tickets', [], '{"tickets":[],"next_page":"not a url at all ::"}', {}).endTime).toBeUndefined();
    expect(parsePage(ticketsTime, 'tickets', [], '{"tickets":[],"end_time":-5}', {}).endTime).toBeUndefined();
  });

  it('is the end of the stream only when Zendesk says so', () => {
    expect(parsePage(ticketsTime, 'tickets', [], '{"tickets":[],"count":0,"end_time":5}', {}).endOfStream).toBe(false);
    expect(parsePage(ticketsTime, 'tickets', [], '{"tickets":[],"end_of_stream":true}', {}).endOfStream).toBe(true);
  });

  it('reads a cursor page: no end_time, and a null cursor when Zendesk gives none', () => {
    const users = endpointSpec('users_cursor');
    const page = parsePage(users, 'users', [], '{"users":[{"id":1}],"after_cursor":"abc","end_of_stream":false}', {});
    expect(page).toMatchObject({ afterCursor: 'abc', endOfStream: false });
    expect(page.endTime).toBeUndefined();
    expect(parsePage(users, 'users', [], '{"users":[],"after_cursor":null,"end_of_stream":true}', {}).afterCursor).toBeNull();
    expect(parsePage(users, 'users', [], '{"users":[],"after_cursor":"","end_of_stream":true}', {}).afterCursor).toBeNull();
  });

  it('treats a page cut short as transient: asking again mends it', () => {
    expect(() => parsePage(ticketsTime, 'tickets', [], '{"tickets":[{"id":1}', {})).toThrow(expect.objectContaining({ type: 'ZendeskTransientError', retryable: true }));
  });

  it.each([
    ['an HTML page', '<!doctype html><html><body>Sign in to the Wi-Fi</body></html>', ''],
    ['an HTML content type', '{"tickets":[]}', 'text/html; charset=utf-8'],
    ['text that is not JSON', 'Service temporarily unavailable', 'text/plain'],
    ['JSON without the records array', '{"count":0}', 'application/json'],
    ['a records array of non-records', '{"tickets":[1,2]}', 'application/json'],
    ['a top-level array', '[{"id":1}]', 'application/json'],
  ])('refuses %s as not a Zendesk answer', (_name, body, contentType) => {
    expect(() => parsePage(ticketsTime, 'tickets', [], body, {}, 'tickets', contentType)).toThrow(expect.objectContaining({ type: 'ZendeskUnexpectedAnswerError' }));
  });
});

describe('rate-limit headers', () => {
  it('reads the export bucket header, and the account limit with 2024 names', () => {
    const headers = { 'Zendesk-RateLimit-Incremental-Exports': 'total=10; remaining=0; resets=42', 'x-rate-limit': '700', 'x-rate-limit-remaining': '650', 'ratelimit-reset': '12' };
    expect(readRateLimitHeaders(headers, BUCKET)).toEqual({ bucket: BUCKET, total: 10, remaining: 0, resetsSeconds: 42, accountLimit: 700, accountRemaining: 650 });
    expect(accountResetSeconds(headers)).toBe(12);
  });

  it('reads the 2023 names, and leaves the bucket out when its header is absent', () => {
    const headers = { 'rate-limit-limit': '400', 'rate-limit-remaining': '399', 'rate-limit-reset': '30' };
    expect(readRateLimitHeaders(headers, BUCKET)).toEqual({ accountLimit: 400, accountRemaining: 399 });
    expect(accountResetSeconds(headers)).toBe(30);
  });

  it('bounds every wait Zendesk asks for, and ignores values that are not counts', () => {
    expect(readRateLimitHeaders({ [BUCKET]: 'total=ten; remaining=-1; resets=99999999' }, BUCKET)).toEqual({ bucket: BUCKET, total: undefined, remaining: undefined, resetsSeconds: MAX_WAIT_SECONDS });
    expect(accountResetSeconds({ 'ratelimit-reset': '86400' })).toBe(MAX_WAIT_SECONDS);
  });

  it('reads Retry-After in seconds or as a date, capped at an hour and saying so', () => {
    expect(retryAfter({ 'retry-after': '30' })).toEqual({ seconds: 30, capped: false });
    expect(retryAfter({ 'Retry-After': '1.2' })).toEqual({ seconds: 2, capped: false });
    expect(retryAfter({ 'retry-after': '999999999' })).toEqual({ seconds: MAX_WAIT_SECONDS, capped: true });
    const now = Date.now();
    expect(retryAfter({ 'retry-after': new Date(now + 90_000).toUTCString() }, now)).toEqual({ seconds: 90, capped: false });
    expect(retryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfter({})).toBeUndefined();
  });
});

describe('auth headers', () => {
  const url = accountUrl('acme');

  it('sends API tokens and OAuth tokens as Zendesk wants them, and refuses passwords', async () => {
    const token = createAuthProvider('acme', url, { kind: 'api_token', email: 'a@b.c', token: 's3cret' });
    expect(await token.authorization()).toBe(`Basic ${Buffer.from('a@b.c/token:s3cret').toString('base64')}`);
    expect(token.method).not.toContain('s3cret');
    const bearer = createAuthProvider('acme', url, { kind: 'oauth_token', accessToken: 'tok' });
    expect(await bearer.authorization()).toBe('Bearer tok');
    expect(await bearer.renew()).toBe(false);
    expect(() => createAuthProvider('acme', url, { kind: 'password', email: 'a@b.c' })).toThrow(/removed from Zendesk's API on 2025-12-31/);
  });
});

/** A local HTTP server on a free port; every request it receives is kept. */
interface LocalServer {
  url: string;
  requests: http.IncomingMessage[];
  close(): Promise<void>;
}

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<LocalServer> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(local);
  return local;
}

function json(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
}

const clientFor = (url: AccountUrl, auth: AuthProvider = createAuthProvider('acme', url, { kind: 'oauth_token', accessToken: 'tok' }), maxResponseBytes?: number) =>
  new ZendeskClient({ account: 'acme', url, auth, timeoutMs: 5_000, maxResponseBytes });

describe('the HTTP client', () => {
  const organizations = endpointSpec('organizations');

  it('asks the account origin, below its prefix, with the params and the credential', async () => {
    const server = await serve((_req, res) => json(res, 200, '{"organizations":[{"id":1,"n":1.0}],"end_time":9,"end_of_stream":true}', { 'x-rate-limit': '700' }));
    const page = await clientFor(accountUrl('acme', `${server.url}/zd/{account}`)).fetchPage(organizations, 'organizations', { start_time: '5', per_page: '10' });
    expect(server.requests.map((r) => r.url)).toEqual(['/zd/acme/api/v2/incremental/organizations?start_time=5&per_page=10']);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer tok');
    expect(page.records.map((r) => r.text)).toEqual(['{"id":1,"n":1.0}']);
    expect(page.rateLimit.accountLimit).toBe(700);
  });

  it('never follows a redirect: the credentials stay with the account', async () => {
    const elsewhere = await serve((_req, res) => json(res, 200, '{"organizations":[],"end_of_stream":true}'));
    const server = await serve((_req, res) => {
      res.writeHead(302, { Location: `${elsewhere.url}/api/v2/incremental/organizations?start_time=0` });
      res.end();
    });
    await expect(clientFor(accountUrl('acme', server.url)).fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({
      type: 'ZendeskUnexpectedAnswerError',
      status: 302,
    });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses an answer larger than the cap, whatever it holds', async () => {
    const server = await serve((_req, res) => json(res, 200, `{"organizations":[${'{"id":1},'.repeat(2000)}{"id":2}],"end_of_stream":true}`));
    await expect(clientFor(accountUrl('acme', server.url), undefined, 4096).fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({
      type: 'ZendeskAnswerRefusedError',
      retryable: false,
    });
  });

  it.each([
    ['204 No Content', 204, '', 'application/json'],
    ['an HTML 200', 200, '<html><body>portal</body></html>', 'text/html'],
  ])('refuses %s as not a page', async (_name, status, body, type) => {
    const server = await serve((_req, res) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    });
    await expect(clientFor(accountUrl('acme', server.url)).fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({ type: 'ZendeskUnexpectedAnswerError' });
  });

  it('renews an expired token once after a 401, then gives up', async () => {
    let renewals = 0;
    const auth: AuthProvider = { method: 'test token', authorization: async () => `Bearer token-${renewals}`, renew: async () => (++renewals, true) };
    const renewed = await serve((req, res) =>
      req.headers.authorization === 'Bearer token-1' ? json(res, 200, '{"organizations":[],"end_of_stream":true}') : json(res, 401, '{"error":"invalid_token"}'),
    );
    await expect(clientFor(accountUrl('acme', renewed.url), auth).fetchPage(organizations, 'organizations', { start_time: '0' })).resolves.toMatchObject({ endOfStream: true });
    expect(renewals).toBe(1);
    const refusing = await serve((_req, res) => json(res, 401, '{"error":"Couldn\'t authenticate you"}'));
    await expect(clientFor(accountUrl('acme', refusing.url), auth).fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({
      type: 'ZendeskAuthError',
      status: 401,
    });
    expect(refusing.requests).toHaveLength(2); // One renewal per page, never a loop.
    expect(renewals).toBe(2);
  });

  it('reads a 429 with a wait capped at an hour, and the bucket state', async () => {
    const server = await serve((_req, res) =>
      json(res, 429, '{"error":"APIRateLimitExceeded"}', { 'Retry-After': '86400', [BUCKET]: 'total=10; remaining=0; resets=86400' }),
    );
    await expect(clientFor(accountUrl('acme', server.url)).fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({
      type: 'ZendeskRateLimitedError',
      retryAfterSeconds: MAX_WAIT_SECONDS,
      capped: true,
      rateLimit: { total: 10, remaining: 0, resetsSeconds: MAX_WAIT_SECONDS },
    });
  });

  it('reports a refused connection as transient, naming the request and not the credential', async () => {
    const server = await serve(() => undefined);
    const url = accountUrl('acme', server.url);
    await server.close();
    const err = await clientFor(url, createAuthProvider('acme', url, { kind: 'oauth_token', accessToken: 'very-secret-token' }))
      .fetchPage(organizations, 'organizations', { start_time: '0' })
      .catch((e: Error) => e);
    expect(err).toMatchObject({ type: 'ZendeskTransientError', retryable: true });
    expect((err as Error).message).toMatch(/account "acme" \/api\/v2\/incremental\/organizations.*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('very-secret-token');
  });

  /** A server that answers 200 and then drips the body a byte at a time, never finishing; `closed` when the client hangs up. */
  async function dripping(): Promise<LocalServer & { started: Promise<void>; closed: Promise<void> }> {
    let started!: () => void;
    let closed!: () => void;
    const events = { started: new Promise<void>((r) => (started = r)), closed: new Promise<void>((r) => (closed = r)) };
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"organizations":[', () => started());
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => {
        clearInterval(drip);
        closed();
      });
    });
    return Object.assign(server, events);
  }

  it('abandons an answer dripped slowly at its deadline for the whole answer, though bytes keep coming', async () => {
    const server = await dripping();
    const url = accountUrl('acme', server.url);
    const client = new ZendeskClient({ account: 'acme', url, auth: createAuthProvider('acme', url, { kind: 'oauth_token', accessToken: 'tok' }), timeoutMs: 1_000 });
    await expect(client.fetchPage(organizations, 'organizations', { start_time: '0' })).rejects.toMatchObject({
      type: 'ZendeskTransientError',
      message: expect.stringMatching(/did not finish its answer for account "acme" .* within 1s/),
    });
    await server.closed; // The connection is closed, not left dripping.
  });

  it('abandons the request when its batch is cancelled', async () => {
    const server = await dripping();
    const cancel = new AbortController();
    const page = clientFor(accountUrl('acme', server.url)).fetchPage(organizations, 'organizations', { start_time: '0' }, [], cancel.signal);
    await server.started;
    cancel.abort();
    await expect(page).rejects.toMatchObject({ message: expect.stringMatching(/abandoned: its batch was cancelled/) });
    await server.closed;
  });

  it('holds no more bytes of answers at once than the worker allows, across clients: a later answer waits for an earlier one', async () => {
    const memory = new AnswerMemory(64 * 1024);
    const body = `{"organizations":[${Array.from({ length: 4_000 }, (_, i) => `{"id":${i}}`).join(',')}],"end_of_stream":true}`; // About 40 KiB.
    let finishFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (finishFirst = r));
    const first = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(body); // All of it, but the answer is not over until the server ends it.
      void firstHeld.then(() => res.end());
    });
    const second = await serve((_req, res) => json(res, 200, body));
    const client = (server: LocalServer) =>
      new ZendeskClient({ account: 'acme', url: accountUrl('acme', server.url), auth: createAuthProvider('acme', accountUrl('acme', server.url), { kind: 'oauth_token', accessToken: 'tok' }), memory, timeoutMs: 30_000 });
    const order: string[] = [];
    const a = client(first).fetchPage(organizations, 'organizations', { start_time: '0' }).then((p) => (order.push('first'), p));
    await until(() => memory.inUse >= body.length);
    const b = client(second).fetchPage(organizations, 'organizations', { start_time: '0' }).then((p) => (order.push('second'), p));
    await until(() => memory.waiting > 0); // The second answer's next bytes do not fit: it waits, reading no more.
    expect(memory.inUse).toBeLessThanOrEqual(64 * 1024);
    expect(order).toEqual([]);
    finishFirst();
    const [pa, pb] = await Promise.all([a, b]);
    expect(order).toEqual(['first', 'second']);
    expect([pa.records.length, pb.records.length]).toEqual([4_000, 4_000]);
    expect(memory.inUse).toBe(0);
  });

  it('refuses the later answer when both need more than the memory has left, so the earlier one completes', async () => {
    const memory = new AnswerMemory(64 * 1024);
    const body = `{"organizations":[${Array.from({ length: 4_000 }, (_, i) => `{"id":${i}}`).join(',')}],"end_of_stream":true}`;
    let finishFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (finishFirst = r));
    const first = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(body.slice(0, 30_000));
      void firstHeld.then(() => res.end(body.slice(30_000)));
    });
    const second = await serve((_req, res) => json(res, 200, body));
    const client = (server: LocalServer) =>
      new ZendeskClient({ account: 'acme', url: accountUrl('acme', server.url), auth: createAuthProvider('acme', accountUrl('acme', server.url), { kind: 'oauth_token', accessToken: 'tok' }), memory, timeoutMs: 30_000 });
    const a = client(first).fetchPage(organizations, 'organizations', { start_time: '0' });
    await until(() => memory.inUse >= 30_000);
    const b = client(second).fetchPage(organizations, 'organizations', { start_time: '0' }).catch((e: Error) => e);
    await until(() => memory.waiting > 0);
    finishFirst();
    expect((await a).records).toHaveLength(4_000);
    expect(await b).toMatchObject({ type: 'ZendeskTransientError', message: expect.stringMatching(/abandoned: the worker already holds .* of answers, its limit/) });
    expect(memory.inUse).toBe(0);
  });
});

describe('the memory for answers', () => {
  it('refuses the answer opened last when every answer being read is waiting, so the older goes on', async () => {
    const memory = new AnswerMemory(100);
    const [a, b] = [memory.open(), memory.open()];
    await a.take(60);
    await b.take(30);
    const bMore = b.take(30);
    // Both waiting: nobody would give bytes back. b, opened last, is refused and gives its 30 bytes to a.
    await a.take(30);
    await expect(bMore).rejects.toThrow(/already holds/);
    b.release();
    expect(memory.inUse).toBe(90);
    a.release();
    expect(memory.inUse).toBe(0);
    // One answer larger than the whole memory is refused at once, not left waiting.
    await expect(memory.open().take(101)).rejects.toThrow(/already holds/);
  });
});

/** Resolves once `condition` holds, looking every 10 ms (an event the test waits for, not a fixed sleep). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}
