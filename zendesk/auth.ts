/**
 * Authentication as Zendesk has it now: OAuth bearer tokens that expire and are refreshed (the
 * refresh-token grant rotates the refresh token on every use; the client-credentials grant), static
 * OAuth tokens, and API tokens (switched off by Zendesk on 2027-04-30). Email and password is gone.
 */
import axios from 'axios';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeAccountUrl, requestUrl, type AccountUrl } from './account';
import { oauthErrorText, ZendeskAuthError, ZendeskConfigError, ZendeskTransientError } from './errors';

export type Credentials =
  | { kind: 'api_token'; email: string; token: string }
  | { kind: 'oauth_token'; accessToken: string }
  | { kind: 'oauth_refresh'; clientId: string; clientSecret?: string; refreshToken: string }
  | { kind: 'oauth_client_credentials'; clientId: string; clientSecret: string; scope?: string }
  /** Kept only to say clearly that Zendesk no longer accepts it. */
  | { kind: 'password'; email: string };

/** The day Zendesk stops accepting API tokens. */
export const API_TOKEN_SHUTDOWN = '2027-04-30';

/** Supplies the Authorization header for one account, refreshing OAuth tokens when they expire. */
export interface AuthProvider {
  /** Words for messages: which method, never the secret. */
  readonly method: string;
  authorization(): Promise<string>;
  /** Called after a 401: returns true when a fresh token is worth one more try. */
  renew(): Promise<boolean>;
}

/** Where rotated refresh tokens survive a worker restart (outside workflow history). */
export interface TokenStore {
  load(account: string): Promise<string | undefined>;
  save(account: string, refreshToken: string): Promise<void>;
}

/** A JSON file, mode 0600, written atomically so a crash never leaves a half-written token. */
export function fileTokenStore(file: string): TokenStore {
  const read = async (): Promise<Record<string, string>> => {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return {};
      throw new ZendeskConfigError(`Could not read the token store ZENDESK_TOKEN_STORE (${file}): ${code ?? 'unreadable'}.`);
    }
    // Never quote the file: a parser's message would show part of it, and it holds refresh tokens.
    let all: unknown;
    try {
      all = JSON.parse(text);
    } catch {
      all = undefined;
    }
    if (!all || typeof all !== 'object' || Array.isArray(all) || Object.values(all).some((v) => typeof v !== 'string')) {
      throw new ZendeskConfigError(`The token store ZENDESK_TOKEN_STORE (${file}) is not a JSON object of refresh tokens; fix or remove it.`);
    }
    return all as Record<string, string>;
  };
  return {
    async load(account) {
      return (await read())[account];
    },
    async save(account, refreshToken) {
      const all = { ...(await read()), [account]: refreshToken };
      await fs.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      const handle = await fs.open(tmp, 'w', 0o600);
      try {
        await handle.chmod(0o600); // Also when the umask or an old file said otherwise.
        await handle.writeFile(JSON.stringify(all));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, file);
    },
  };
}

/** A store that keeps tokens in memory only (tests, and accounts without refresh tokens). */
export function memoryTokenStore(): TokenStore {
  const tokens = new Map<string, string>();
  return {
    load: async (account) => tokens.get(account),
    save: async (account, token) => void tokens.set(account, token),
  };
}

/** Renew a little before expiry, so a page never starts with a token about to lapse. */
const EXPIRY_MARGIN_MS = 60_000;

export function createAuthProvider(
  account: string,
  baseUrl: AccountUrl,
  credentials: Credentials,
  store: TokenStore = memoryTokenStore(),
): AuthProvider {
  switch (credentials.kind) {
    case 'password':
      throw new ZendeskConfigError(
        `Email and password authentication was removed from Zendesk's API on 2025-12-31; ` +
          `configure an OAuth token or an API token for account "${account}".`,
      );
    case 'api_token': {
      const header = `Basic ${Buffer.from(`${credentials.email}/token:${credentials.token}`).toString('base64')}`;
      // The method names no email: failures that quote it reach workflow histories.
      return { method: 'API token', authorization: async () => header, renew: async () => false };
    }
    case 'oauth_token':
      return { method: 'OAuth access token', authorization: async () => `Bearer ${credentials.accessToken}`, renew: async () => false };
    case 'oauth_refresh':
    case 'oauth_client_credentials':
      return oauthProvider(account, baseUrl, credentials, store);
  }
}

/** What Zendesk's token endpoint issued. */
export interface IssuedToken {
  accessToken: string;
  /** The rotated refresh token, when the grant has one. */
  refreshToken?: string;
  /** Epoch ms. */
  issuedAt: number;
  expiresAt: number;
}

/** Zendesk refused a refresh token (`invalid_grant`): revoked, or already rotated by someone else. */
export class RefreshTokenRefusedError extends ZendeskAuthError {}

/**
 * One request to the account's `/oauth/tokens`. Throws ZendeskTransientError when Zendesk could not
 * be reached or failed (5xx), RefreshTokenRefusedError for `invalid_grant`, ZendeskAuthError for any
 * other refusal. Never repeats a secret.
 */
export async function requestOAuthToken(account: string, baseUrl: AccountUrl, body: Record<string, string>, method: string): Promise<IssuedToken> {
  let response;
  const url = requestUrl(baseUrl, '/oauth/tokens');
  try {
    response = await axios.post(url.href, body, {
      headers: { Accept: 'application/json' },
      timeout: 30_000,
      validateStatus: () => true,
      // The body carries the client secret and refresh token: a redirect must not take them elsewhere.
      maxRedirects: 0,
      maxContentLength: 1024 * 1024,
    });
  } catch (err) {
    const e = err as { code?: string };
    throw new ZendeskTransientError(`Could not reach ${describeAccountUrl(baseUrl)}/oauth/tokens for account "${account}": ${e.code ?? 'network error'}`);
  }
  const data = response.data as { access_token?: string; refresh_token?: string; expires_in?: number; error?: unknown };
  if (response.status >= 500) {
    throw new ZendeskTransientError(`Zendesk's token endpoint answered HTTP ${response.status} for account "${account}"`, response.status);
  }
  if (response.status !== 200 || typeof data?.access_token !== 'string' || !data.access_token) {
    const Refused = body.grant_type === 'refresh_token' && data?.error === 'invalid_grant' ? RefreshTokenRefusedError : ZendeskAuthError;
    throw new Refused(`Zendesk refused to issue an OAuth token for account "${account}" (${method}): ${oauthErrorText(response.data, response.status)}`, response.status);
  }
  // Bounded: a token said to live for ever is still renewed daily.
  const lifetime = typeof data.expires_in === 'number' && data.expires_in > 0 ? Math.min(data.expires_in, 86_400) : 1800;
  const issuedAt = Date.now();
  const refreshToken = typeof data.refresh_token === 'string' && data.refresh_token ? data.refresh_token : undefined;
  return { accessToken: data.access_token, refreshToken, issuedAt, expiresAt: issuedAt + lifetime * 1000 };
}

/** The token request's body for a grant (the refresh token given separately: it changes). */
export function grantBody(credentials: Extract<Credentials, { kind: 'oauth_refresh' | 'oauth_client_credentials' }>, refreshToken?: string): Record<string, string> {
  const body: Record<string, string> = { client_id: credentials.clientId };
  if (credentials.clientSecret) body.client_secret = credentials.clientSecret;
  if (credentials.kind === 'oauth_refresh') {
    body.grant_type = 'refresh_token';
    body.refresh_token = refreshToken ?? credentials.refreshToken;
  } else {
    body.grant_type = 'client_credentials';
    if (credentials.scope) body.scope = credentials.scope;
  }
  return body;
}

/** Words for messages about an OAuth grant. */
export function oauthMethod(kind: 'oauth_refresh' | 'oauth_client_credentials'): string {
  return kind === 'oauth_refresh' ? 'OAuth refresh token' : 'OAuth client credentials';
}

function oauthProvider(
  account: string,
  baseUrl: AccountUrl,
  credentials: Extract<Credentials, { kind: 'oauth_refresh' | 'oauth_client_credentials' }>,
  store: TokenStore,
): AuthProvider {
  let access: IssuedToken | undefined;
  let inFlight: Promise<void> | undefined;
  const method = oauthMethod(credentials.kind);

  async function requestToken(): Promise<void> {
    // The stored token is newer than the configured one after the first rotation.
    const stored = credentials.kind === 'oauth_refresh' ? await store.load(account) : undefined;
    const issued = await requestOAuthToken(account, baseUrl, grantBody(credentials, stored), method);
    // Store the rotated refresh token before using the access token: the old one is dead now.
    if (issued.refreshToken) await store.save(account, issued.refreshToken);
    access = issued;
  }

  // One refresh at a time per account: two concurrent refreshes would burn the rotated token.
  function refresh(): Promise<void> {
    inFlight ??= requestToken().finally(() => (inFlight = undefined));
    return inFlight;
  }

  return {
    method,
    async authorization() {
      if (!access || access.expiresAt - EXPIRY_MARGIN_MS < Date.now()) await refresh();
      return `Bearer ${access!.accessToken}`;
    },
    async renew() {
      access = undefined;
      await refresh();
      return true;
    },
  };
}
