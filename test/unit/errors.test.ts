import { errorForStatus, NON_RETRYABLE_ERROR_TYPES, zendeskErrorText } from '../../zendesk/errors';

const context = { where: 'account "acme" /api/v2/incremental/tickets', authMethod: 'API token of a@b.c', rateLimit: {} };

describe('Zendesk error classification', () => {
  it.each([
    [401, '{"error":"Couldn\'t authenticate you"}', 'ZendeskAuthError', false],
    [403, '{"error":{"title":"Forbidden","message":"You do not have access"}}', 'ZendeskAuthError', false],
    [400, '{"errors":[{"code":"InvalidPaginationDepth","title":"Too deep"}]}', 'ZendeskBadRequestError', false],
    [404, '{"error":"InvalidEndpoint","description":"Not found"}', 'ZendeskBadRequestError', false],
    [422, '{"error":"RecordInvalid","description":"Record validation errors","details":{"per_page":[{"description":"too big"}]}}', 'ZendeskBadRequestError', false],
    [422, '{"error":"InvalidValue","description":"Too recent start_time. Use a start_time older than 1 minute"}', 'ZendeskTooRecentError', false],
    [422, 'Too recent start_time. Use a start_time older than 5 minutes', 'ZendeskTooRecentError', false],
    [409, 'conflict', 'ZendeskTransientError', true],
    [500, '<html>oops</html>', 'ZendeskTransientError', true],
    [503, '{"error":"Unavailable"}', 'ZendeskTransientError', true],
    [429, 'Number of allowed API requests per minute exceeded', 'ZendeskRateLimitedError', true],
  ])('HTTP %i %s → %s', (status, body, type, retryable) => {
    const err = errorForStatus(status, body, context);
    expect(err.type).toBe(type);
    expect(err.name).toBe(type);
    expect(err.retryable).toBe(retryable);
    expect(NON_RETRYABLE_ERROR_TYPES.includes(err.type)).toBe(!retryable && type !== 'ZendeskTooRecentError');
  });

  it("keeps Zendesk's words from every envelope", () => {
    expect(zendeskErrorText({ error: 'RecordNotFound', description: 'Not found' })).toBe('RecordNotFound - Not found');
    expect(zendeskErrorText({ error: { title: 'Forbidden', message: 'No' } })).toBe('Forbidden - No');
    expect(zendeskErrorText('{"errors":[{"code":"X","title":"Y","detail":"Z"}]}')).toBe('X: Y: Z');
    expect(zendeskErrorText({ description: 'Record validation errors', details: { name: [{ description: 'is blank' }] } })).toBe(
      'Record validation errors - name: is blank',
    );
    expect(zendeskErrorText('plain text failure\n')).toBe('plain text failure');
  });

  it('names the account and auth method on 401, never a secret', () => {
    const err = errorForStatus(401, '{"error":"Couldn\'t authenticate you"}', context);
    expect(err.message).toContain('acme');
    expect(err.message).toContain('API token of a@b.c');
  });

  it('waits Retry-After on 429, else the bucket reset, else a default', () => {
    expect(errorForStatus(429, '', { ...context, retryAfterSeconds: 7 })).toMatchObject({ retryAfterSeconds: 7 });
    expect(errorForStatus(429, '', { ...context, rateLimit: { resetsSeconds: 13 } })).toMatchObject({ retryAfterSeconds: 13 });
    expect(errorForStatus(429, '', context)).toMatchObject({ retryAfterSeconds: 60 });
  });
});
