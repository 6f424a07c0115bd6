/** An account's name decides where its credentials go: every URL is checked against the one origin it may have. */
import { accountUrl, describeAccountUrl, isAccountName, printable, requestUrl } from '../../zendesk/account';
import { thrown } from '../helpers/thrown';
import { ZendeskConfigError } from '../../zendesk/errors';


describe('account URLs', () => {
  it("is the account's own Zendesk host by default", () => {
    expect(accountUrl('acme')).toEqual({ origin: 'https://acme.zendesk.com', prefix: '' });
  });

  it('puts the account in place of {account} in an override, in the path or the host', () => {
    expect(accountUrl('acme', 'http://127.0.0.1:9/accounts/{account}/')).toEqual({ origin: 'http://127.0.0.1:9', prefix: '/accounts/acme' });
    expect(accountUrl('acme', 'https://{account}.proxy.example:8443')).toEqual({ origin: 'https://acme.proxy.example:8443', prefix: '' });
    expect(describeAccountUrl(accountUrl('acme', 'http://127.0.0.1:9/zd//'))).toBe('http://127.0.0.1:9/zd');
  });

  it.each(['acme.evil.com', 'acme/..', 'evil.com#', 'a@evil.com', 'acme:80', 'ACME', 'a'.repeat(64), 'acmé', ''])('refuses the account name %j before building anything', (name) => {
    expect(isAccountName(name)).toBe(false);
    expect(() => accountUrl(name)).toThrow(ZendeskConfigError);
    expect(() => accountUrl(name, 'http://127.0.0.1:9/{account}')).toThrow(/is not a Zendesk account name/);
  });

  it('refuses an override with a user or password, without repeating them', () => {
    for (const override of ['https://admin:hunter2@acme.zendesk.com', 'https://hunter2@acme.zendesk.com']) {
      const err = thrown(() => accountUrl('acme', override));
      expect(err).toBeInstanceOf(ZendeskConfigError);
      expect(err.message).toMatch(/must not carry a user or password/);
      expect(err.message).not.toContain('hunter2');
    }
  });

  it.each([
    ['a query', 'https://acme.zendesk.com/?token=x', /query or fragment/],
    ['a fragment', 'https://acme.zendesk.com/#x', /query or fragment/],
    ['an ftp URL', 'ftp://acme.zendesk.com', /http or https/],
    ['a file URL', 'file:///etc/passwd', /http or https/],
    ['a javascript URL', 'javascript:alert(1)', /http or https/],
    ['a path alone', '/api', /is not a URL/],
    ['words', 'acme zendesk', /is not a URL/],
  ])('refuses an override with %s', (_name, override, message) => {
    expect(() => accountUrl('acme', override)).toThrow(message);
  });
});

describe('request URLs', () => {
  const base = accountUrl('acme', 'http://127.0.0.1:9/accounts/acme');

  it('puts the path below the prefix and sets the params, encoded', () => {
    const url = requestUrl(base, '/api/v2/incremental/tickets', { start_time: '5', cursor: 'a+b/c=&d' });
    expect(url.origin).toBe('http://127.0.0.1:9');
    expect(url.pathname).toBe('/accounts/acme/api/v2/incremental/tickets');
    expect(url.searchParams.get('cursor')).toBe('a+b/c=&d');
    expect(url.search).toBe('?start_time=5&cursor=a%2Bb%2Fc%3D%26d');
  });

  it.each([
    ['a path climbing out of the prefix', '/../other/api'],
    ['an encoded climb', '/%2e%2e/other/api'],
    ['an absolute URL', 'https://evil.example/x'],
  ])('keeps the prefix: refuses %s', (_name, p) => {
    const err = thrown(() => requestUrl(base, p));
    expect(err).toBeInstanceOf(ZendeskConfigError);
    expect(err.message).toMatch(/Refused to send a request outside http:\/\/127\.0\.0\.1:9\/accounts\/acme/);
  });

  it.each([
    ['a protocol-relative path', '//evil.example/x'],
    ['a backslash path', '/\\evil.example/x'],
    ['an absolute URL', 'https://evil.example/x'],
  ])('keeps the origin: refuses %s', (_name, p) => {
    expect(() => requestUrl(accountUrl('acme'), p)).toThrow(/Refused to send a request outside https:\/\/acme\.zendesk\.com/);
  });

  it("stays on the account's host without a prefix", () => {
    const root = accountUrl('acme');
    expect(requestUrl(root, '/oauth/tokens').href).toBe('https://acme.zendesk.com/oauth/tokens');
  });
});

describe('quoting values from outside', () => {
  it('masks control characters and cuts long values', () => {
    expect(printable('a\nb\u0007c\u007f')).toBe('a?b?c?');
    expect(printable('x'.repeat(100))).toBe(`${'x'.repeat(80)}…`);
    expect(printable({ a: 1 })).toBe('an object');
    // A value built to break a quoting walk (10,000 arrays deep) is described, not walked.
    let deep: unknown = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(printable(deep)).toBe('an array of 1');
    expect(printable(undefined)).toBe('undefined');
  });
});
