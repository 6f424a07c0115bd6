/** Which account a worker's credentials serve, where they come from, and the refresh-token store. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { thrown } from '../helpers/thrown';
import os from 'node:os';
import path from 'node:path';
import { fileTokenStore } from '../../zendesk/auth';
import { accountConfig, credentialsFromEnv, envAccounts, type Env } from '../../zendesk/credentials';
import { ZendeskConfigError } from '../../zendesk/errors';

const SECRET = 's3cr3t';
const API_TOKEN = { ZENDESK_EMAIL: 'admin@acme.com', ZENDESK_API_TOKEN: SECRET };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-credentials-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});


async function rejected(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('credentials from the environment', () => {
  it('serve the account named by ZENDESK_SUBDOMAIN, and no other', () => {
    const env: Env = { ...API_TOKEN, ZENDESK_SUBDOMAIN: 'acme' };
    expect(accountConfig('acme', env)).toEqual({ credentials: { kind: 'api_token', email: 'admin@acme.com', token: SECRET }, baseUrl: undefined });
    const err = thrown(() => accountConfig('other', env));
    expect(err).toBeInstanceOf(ZendeskConfigError);
    expect(err.message).toMatch(/not for account "other"/);
    expect(err.message).not.toContain(SECRET);
  });

  it('serve each account in ZENDESK_ACCOUNTS, and no other', () => {
    const env: Env = { ...API_TOKEN, ZENDESK_ACCOUNTS: 'acme, Beta ,', ZENDESK_BASE_URL: 'http://127.0.0.1:9/{account}' };
    expect(envAccounts(env)).toEqual(['acme', 'beta']);
    expect(accountConfig('beta', env).baseUrl).toBe('http://127.0.0.1:9/{account}');
    expect(() => accountConfig('gamma', env)).toThrow(ZendeskConfigError);
  });

  it('serve nobody when no account is named', () => {
    expect(thrown(() => accountConfig('acme', API_TOKEN)).message).toMatch(/not for account "acme"/);
  });

  it('are missing, and say what to set, when none are configured', () => {
    expect(thrown(() => accountConfig('acme', { ZENDESK_SUBDOMAIN: 'acme' })).message).toMatch(/no Zendesk credentials for account "acme": set ZENDESK_SUBDOMAIN/);
  });

  it('prefer a refresh token, then client credentials, then an access token, then an API token', () => {
    const all: Env = { ...API_TOKEN, ZENDESK_OAUTH_TOKEN: 'at', ZENDESK_OAUTH_CLIENT_ID: 'id', ZENDESK_OAUTH_CLIENT_SECRET: 'cs', ZENDESK_OAUTH_REFRESH_TOKEN: 'rt' };
    expect(credentialsFromEnv(all)).toEqual({ kind: 'oauth_refresh', clientId: 'id', clientSecret: 'cs', refreshToken: 'rt' });
    expect(credentialsFromEnv({ ...all, ZENDESK_OAUTH_REFRESH_TOKEN: undefined })).toMatchObject({ kind: 'oauth_client_credentials' });
    expect(credentialsFromEnv({ ...API_TOKEN, ZENDESK_OAUTH_TOKEN: 'at' })).toEqual({ kind: 'oauth_token', accessToken: 'at' });
    expect(credentialsFromEnv(API_TOKEN)).toMatchObject({ kind: 'api_token' });
    expect(credentialsFromEnv({})).toBeUndefined();
  });

  it('refuse an API token without its email, and keep a password only to refuse it', () => {
    expect(() => credentialsFromEnv({ ZENDESK_API_TOKEN: SECRET })).toThrow(/ZENDESK_EMAIL is not/);
    expect(credentialsFromEnv({ ZENDESK_EMAIL: 'a@b.c', ZENDESK_PASSWORD: SECRET })).toEqual({ kind: 'password', email: 'a@b.c' });
  });

  it('read a secret from the file named by <VAR>_FILE, and never quote it when that fails', () => {
    const tokenFile = file('token', `${SECRET}\n`);
    expect(credentialsFromEnv({ ZENDESK_EMAIL: 'a@b.c', ZENDESK_API_TOKEN_FILE: tokenFile })).toEqual({ kind: 'api_token', email: 'a@b.c', token: SECRET });
    const err = thrown(() => credentialsFromEnv({ ZENDESK_EMAIL: 'a@b.c', ZENDESK_API_TOKEN_FILE: path.join(dir, 'missing') }));
    expect(err).toBeInstanceOf(ZendeskConfigError);
    expect(err.message).toMatch(/Could not read ZENDESK_API_TOKEN_FILE .*ENOENT/);
  });
});

describe('a credentials file', () => {
  it('serves exactly the accounts it names, each with its own credentials and base URL', () => {
    const credentialsFile = file(
      'credentials.json',
      JSON.stringify({ acme: { email: 'a@acme.com', apiToken: SECRET, baseUrl: 'http://127.0.0.1:9' }, beta: { clientId: 'id', refreshToken: 'rt' } }),
    );
    const env: Env = { ZENDESK_CREDENTIALS_FILE: credentialsFile };
    expect(accountConfig('acme', env)).toEqual({ credentials: { kind: 'api_token', email: 'a@acme.com', token: SECRET }, baseUrl: 'http://127.0.0.1:9' });
    expect(accountConfig('beta', env).credentials).toEqual({ kind: 'oauth_refresh', clientId: 'id', clientSecret: undefined, refreshToken: 'rt' });
    expect(thrown(() => accountConfig('gamma', env)).message).toMatch(/account "gamma".*ZENDESK_CREDENTIALS_FILE/);
  });

  it("applies ZENDESK_BASE_URL to the entries without their own baseUrl", () => {
    const credentialsFile = file(
      'credentials.json',
      JSON.stringify({ acme: { email: 'a@acme.com', apiToken: SECRET, baseUrl: 'http://127.0.0.1:9' }, beta: { clientId: 'id', refreshToken: 'rt' } }),
    );
    const env: Env = { ZENDESK_CREDENTIALS_FILE: credentialsFile, ZENDESK_BASE_URL: 'http://127.0.0.1:8/accounts/{account}' };
    expect(accountConfig('acme', env).baseUrl).toBe('http://127.0.0.1:9');
    expect(accountConfig('beta', env).baseUrl).toBe('http://127.0.0.1:8/accounts/{account}');
  });

  it("falls back to the environment's credentials for the accounts they serve", () => {
    const credentialsFile = file('credentials.json', JSON.stringify({ beta: { email: 'b@beta.com', apiToken: 'beta-token' } }));
    const env: Env = { ...API_TOKEN, ZENDESK_SUBDOMAIN: 'acme', ZENDESK_CREDENTIALS_FILE: credentialsFile };
    expect(accountConfig('acme', env).credentials).toMatchObject({ token: SECRET });
    expect(accountConfig('beta', env).credentials).toMatchObject({ token: 'beta-token' });
    expect(thrown(() => accountConfig('gamma', env)).message).toMatch(/has no entry for it/);
  });

  it('refuses an entry without usable credentials', () => {
    const env = { ZENDESK_CREDENTIALS_FILE: file('credentials.json', '{"acme": {"baseUrl": "http://127.0.0.1:9"}}') };
    expect(thrown(() => accountConfig('acme', env)).message).toMatch(/no usable credentials for account "acme"/);
  });

  it.each([
    ['cut short', `{"acme": {"apiToken": "${SECRET}"`],
    ['not JSON at all', `apiToken=${SECRET}`],
    ['a value that is not a string', `{"acme": {"apiToken": "${SECRET}", "retries": 3}}`],
    ['an entry that is not an object', `{"acme": "${SECRET}"}`],
    ['an array', `[{"apiToken": "${SECRET}"}]`],
  ])('never quotes a corrupt file (%s)', (_name, text) => {
    const env = { ZENDESK_CREDENTIALS_FILE: file('credentials.json', text) };
    const err = thrown(() => accountConfig('acme', env));
    expect(err).toBeInstanceOf(ZendeskConfigError);
    expect(err.message).toMatch(/^ZENDESK_CREDENTIALS_FILE \(.*\) is not a JSON object of accounts/);
    expect(err.message).not.toContain(SECRET);
  });

  it('says when it cannot be read', () => {
    expect(thrown(() => accountConfig('acme', { ZENDESK_CREDENTIALS_FILE: path.join(dir, 'missing.json') })).message).toMatch(/Could not read ZENDESK_CREDENTIALS_FILE .*ENOENT/);
  });
});

describe('the refresh-token store', () => {
  it('keeps rotated tokens per account across instances', async () => {
    const p = path.join(dir, 'store', 'tokens.json');
    await fileTokenStore(p).save('acme', 'rt-1');
    await fileTokenStore(p).save('beta', 'rt-b');
    await fileTokenStore(p).save('acme', 'rt-2');
    expect(await fileTokenStore(p).load('acme')).toBe('rt-2');
    expect(await fileTokenStore(p).load('beta')).toBe('rt-b');
    expect(await fileTokenStore(p).load('gamma')).toBeUndefined();
  });

  it('is readable by its owner only, even under a permissive umask and over an existing file', async () => {
    const p = file('tokens.json', '{}');
    chmodSync(p, 0o666);
    const umask = process.umask(0);
    try {
      await fileTokenStore(p).save('acme', SECRET);
    } finally {
      process.umask(umask);
    }
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({ acme: SECRET });
  });

  it('is readable by its owner only even when a crashed save left its temporary file behind', async () => {
    const p = path.join(dir, 'tokens.json');
    // A save of an earlier process with this pid, killed before its rename.
    file(`tokens.json.${process.pid}.tmp`, '{"acme":"stale"}');
    chmodSync(`${p}.${process.pid}.tmp`, 0o644);
    await fileTokenStore(p).save('acme', SECRET);
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['cut short', `{"acme": "${SECRET}"`],
    ['a token that is not a string', `{"acme": {"token": "${SECRET}"}}`],
    ['an array', `["${SECRET}"]`],
  ])('never quotes a corrupt store (%s), which holds refresh tokens', async (_name, text) => {
    const store = fileTokenStore(file('tokens.json', text));
    for (const attempt of [() => store.load('acme'), () => store.save('acme', 'new')]) {
      const err = await rejected(attempt());
      expect(err).toBeInstanceOf(ZendeskConfigError);
      expect(err.message).toMatch(/is not a JSON object of refresh tokens/);
      expect(err.message).not.toContain(SECRET);
    }
  });
});
