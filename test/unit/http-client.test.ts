import { createAuthProvider } from '../../zendesk/auth';
import { endpointSpec } from '../../zendesk/endpoints';
import { accountBaseUrl, parsePage, ZendeskClient } from '../../zendesk/http-client';
import { parseRateLimit, retryAfterSeconds } from '../../zendesk/rate-limit-headers';

describe('requests and pages', () => {
  it('builds the query from the endpoint table', () => {
    const cursor = endpointSpec('tickets_cursor');
    expect(ZendeskClient.params(cursor, { kind: 'cursor', startTime: 5, cursor: null }, { perPage: 100, include: ['users'], excludeDeleted: true })).toEqual({
      start_time: '5',
      per_page: '100',
      include: 'users',
      exclude_deleted: 'true',
      support_type_scope: 'all',
    });
    expect(ZendeskClient.params(cursor, { kind: 'cursor', startTime: 5, cursor: 'abc' }, {})).toEqual({ cursor: 'abc', support_type_scope: 'all' });
    // Organizations take neither exclude_deleted nor support_type_scope.
    expect(ZendeskClient.params(endpointSpec('organizations'), { kind: 'time', startTime: 9 }, { excludeDeleted: true })).toEqual({ start_time: '9' });
  });

  it('parses time pages leniently and never steps back', () => {
    const page = parsePage(
      endpointSpec('tickets_time'),
      'tickets',
      { kind: 'time', startTime: 100 },
      { include: ['users'] },
      JSON.stringify({ tickets: [{ id: 1, status: 'deleted', extra: { x: 1 } }], users: [{ id: 7 }], count: 1, end_time: 150, end_of_stream: false }),
      {},
    );
    expect(page.records).toEqual([{ id: 1, status: 'deleted', extra: { x: 1 } }]);
    expect(page.sideloads).toEqual({ users: [{ id: 7 }] });
    expect(page.next).toEqual({ kind: 'time', startTime: 150 });
    const empty = parsePage(endpointSpec('tickets_time'), 'tickets', { kind: 'time', startTime: 100 }, {}, '{"tickets":[],"end_of_stream":true}', {});
    expect(empty.next).toEqual({ kind: 'time', startTime: 100 });
    expect(empty.endOfStream).toBe(true);
  });

  it('keeps the previous position when an empty cursor page has no cursor', () => {
    const page = parsePage(endpointSpec('users_cursor'), 'users', { kind: 'cursor', startTime: 3, cursor: null }, {}, '{"users":[],"after_cursor":null,"end_of_stream":true}', {});
    expect(page.next).toEqual({ kind: 'cursor', startTime: 3, cursor: null });
  });

  it.each(['{"tickets":[{"id":1}', '<html>', '{"count":0}'])('treats %s as a transient failure', (body) => {
    expect(() => parsePage(endpointSpec('tickets_time'), 'tickets', { kind: 'time', startTime: 0 }, {}, body, {})).toThrow(
      expect.objectContaining({ type: 'ZendeskTransientError', retryable: true }),
    );
  });

  it('reads the export bucket header before the account limit', () => {
    const headers = { 'Zendesk-RateLimit-Incremental-Exports': 'total=10; remaining=0; resets=42', 'x-rate-limit': '700', 'x-rate-limit-remaining': '650' };
    expect(parseRateLimit(headers, 'zendesk-ratelimit-incremental-exports')).toEqual({
      bucket: 'zendesk-ratelimit-incremental-exports',
      total: 10,
      remaining: 0,
      resetsSeconds: 42,
      accountLimit: 700,
      accountRemaining: 650,
    });
    expect(retryAfterSeconds({ 'retry-after': '30' })).toBe(30);
    expect(retryAfterSeconds({})).toBeUndefined();
  });

  it('builds base URLs from the subdomain or an override', () => {
    expect(accountBaseUrl('acme')).toBe('https://acme.zendesk.com');
    expect(accountBaseUrl('acme', 'http://127.0.0.1:9/accounts/{account}/')).toBe('http://127.0.0.1:9/accounts/acme');
  });

  it('sends API tokens and OAuth tokens as Zendesk wants them, and refuses passwords', async () => {
    const token = createAuthProvider('acme', 'http://x', { kind: 'api_token', email: 'a@b.c', token: 's3cret' });
    expect(await token.authorization()).toBe(`Basic ${Buffer.from('a@b.c/token:s3cret').toString('base64')}`);
    expect(token.method).not.toContain('s3cret');
    const bearer = createAuthProvider('acme', 'http://x', { kind: 'oauth_token', accessToken: 'tok' });
    expect(await bearer.authorization()).toBe('Bearer tok');
    expect(() => createAuthProvider('acme', 'http://x', { kind: 'password', email: 'a@b.c' })).toThrow(/removed from Zendesk's API on 2025-12-31/);
  });
});
