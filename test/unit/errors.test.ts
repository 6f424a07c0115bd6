import { NON_RETRYABLE_FAILURES } from '../../contract/page-activity';
import { DEFAULT_RETRY_AFTER_SECONDS, errorForStatus, zendeskErrorText, type ZendeskRateLimitedError , oauthErrorText, withoutPaths } from '../../zendesk/errors';

const context = { where: 'account "acme" /api/v2/incremental/tickets', authMethod: 'API token', rateLimit: {} };

describe('Zendesk error classification', () => {
  it.each([
    [401, '{"error":"Couldn\'t authenticate you"}', 'ZendeskAuthError', false],
    [403, '{"error":{"title":"Forbidden","message":"You do not have access"}}', 'ZendeskAuthError', false],
    [400, '{"errors":[{"code":"InvalidPaginationDepth","title":"Too deep"}]}', 'ZendeskBadRequestError', false],
    [404, '{"error":"InvalidEndpoint","description":"Not found"}', 'ZendeskBadRequestError', false],
    [405, 'Method Not Allowed', 'ZendeskBadRequestError', false],
    [422, '{"error":"RecordInvalid","description":"Record validation errors","details":{"per_page":[{"description":"too big"}]}}', 'ZendeskBadRequestError', false],
    [422, '{"error":"InvalidValue","description":"Too recent start_time. Use a start_time older than 1 minute"}', 'ZendeskTooRecentError', false],
    [422, '{"error":"InvalidValue","description":"Too recent start_time. Use a start_time older than 5 minutes"}', 'ZendeskTooRecentError', false],
    [422, 'Too recent start_time. Use a start_time older than 5 minutes', 'ZendeskTooRecentError', false],
    [408, 'Request Timeout', 'ZendeskTransientError', true],
    [409, 'conflict', 'ZendeskTransientError', true],
    [500, '<html>oops</html>', 'ZendeskTransientError', true],
    [503, '{"error":"Unavailable"}', 'ZendeskTransientError', true],
    [429, 'Number of allowed API requests per minute exceeded', 'ZendeskRateLimitedError', true],
    [429, '{"error":"APIRateLimitExceeded","description":"Number of allowed incremental export API requests per minute exceeded"}', 'ZendeskRateLimitedError', true],
    // Not Zendesk's: a proxy, a captive portal, a wrong base URL.
    [100, '', 'ZendeskUnexpectedAnswerError', true],
    [204, '', 'ZendeskUnexpectedAnswerError', true],
    [301, '', 'ZendeskUnexpectedAnswerError', true],
    [307, '<html>moved</html>', 'ZendeskUnexpectedAnswerError', true],
  ])('HTTP %i %s → %s', (status, body, type, retryable) => {
    const err = errorForStatus(status, body, context);
    expect(err.type).toBe(type);
    expect(err.name).toBe(type);
    expect(err.retryable).toBe(retryable);
    // The workflow's retry policy stops at once on exactly the non-retryable types (too recent is not a failure).
    expect(NON_RETRYABLE_FAILURES.includes(err.type)).toBe(!retryable && type !== 'ZendeskTooRecentError');
  });

  it('says a redirect is not a page and points at the base URL', () => {
    expect(errorForStatus(302, '', context).message).toMatch(/a redirect \(HTTP 302\).*ZENDESK_BASE_URL/);
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

  it('never quotes an HTML page, and quotes the rest briefly', () => {
    expect(zendeskErrorText('<!DOCTYPE html><html><body>secret portal</body></html>')).toBe('an HTML page');
    expect(zendeskErrorText('x'.repeat(5000))).toHaveLength(300);
  });

  it('names the account and auth method on 401, never a secret', () => {
    const err = errorForStatus(401, '{"error":"Couldn\'t authenticate you"}', context);
    expect(err.message).toContain('acme');
    expect(err.message).toContain('(API token)');
    expect(err.status).toBe(401);
  });

  it('waits Retry-After on 429, else the bucket reset, else the account reset, else a default', () => {
    const rateLimited = (extra: Partial<Parameters<typeof errorForStatus>[2]>) => errorForStatus(429, '', { ...context, ...extra }) as ZendeskRateLimitedError;
    expect(rateLimited({ retryAfter: { seconds: 7, capped: false }, rateLimit: { resetsSeconds: 13 }, resetSeconds: 20 })).toMatchObject({ retryAfterSeconds: 7, capped: false });
    expect(rateLimited({ rateLimit: { resetsSeconds: 13 }, resetSeconds: 20 })).toMatchObject({ retryAfterSeconds: 13 });
    expect(rateLimited({ resetSeconds: 20 })).toMatchObject({ retryAfterSeconds: 20 });
    expect(rateLimited({})).toMatchObject({ retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS });
  });

  it('carries a capped wait and the bucket state on 429', () => {
    const rateLimit = { bucket: 'zendesk-ratelimit-incremental-exports', total: 10, remaining: 0, resetsSeconds: 40 };
    const err = errorForStatus(429, '', { ...context, rateLimit, retryAfter: { seconds: 3600, capped: true } }) as ZendeskRateLimitedError;
    expect(err).toMatchObject({ retryAfterSeconds: 3600, capped: true, rateLimit, status: 429 });
  });
});

describe('what failures may quote', () => {
  it("quotes only a token endpoint's error and error_description, each cut short", () => {
    const body = JSON.stringify({ error: 'invalid_grant', error_description: `The refresh token is revoked ${'x'.repeat(500)}`, debug: 'internal-host db-7.corp:5432', trace: 'abc' });
    const text = oauthErrorText(body, 400);
    expect(text).toMatch(/^invalid_grant - The refresh token is revoked x+$/);
    expect(text.length).toBeLessThanOrEqual(60 + 3 + 200);
    expect(text).not.toContain('db-7.corp');
    expect(oauthErrorText('<html>proxy login for 10.0.0.5</html>', 502)).toBe('HTTP 502');
    expect(oauthErrorText({ error: 'x\u0000\u001b[31m' }, 400)).toBe('x [31m');
  });

  it('removes absolute file paths from an unexpected error', () => {
    expect(withoutPaths("EACCES: permission denied, open '/srv/zendesk/tokens.json.12.tmp'")).toBe("EACCES: permission denied, open '<path>'");
    expect(withoutPaths('ENOENT (/a/b) and /c')).toBe('ENOENT (<path>) and <path>');
  });
});
