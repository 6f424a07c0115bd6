/**
 * Where the worker finds each account's credentials: the environment (one account) or a JSON file
 * (many). Every secret may also come from a file named by `<VAR>_FILE`. Credentials live only in the
 * worker: never in workflow input, history, logs or errors.
 */
import { readFileSync } from 'node:fs';
import type { Credentials } from './auth';
import { ZendeskConfigError } from './errors';

export type Env = Record<string, string | undefined>;

/** An account's credentials and, optionally, its own base URL. */
export interface AccountConfig {
  credentials: Credentials;
  baseUrl?: string;
}

/** A variable's value, or the contents of the file named by `<name>_FILE`. */
export function secret(env: Env, name: string): string | undefined {
  const direct = env[name];
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ZendeskConfigError(`Could not read ${name}_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}.`);
  }
}

/** Credentials from ZENDESK_* variables, or undefined when none are set. */
export function credentialsFromEnv(env: Env): Credentials | undefined {
  const email = env.ZENDESK_EMAIL;
  const apiToken = secret(env, 'ZENDESK_API_TOKEN');
  const oauthToken = secret(env, 'ZENDESK_OAUTH_TOKEN');
  const clientId = env.ZENDESK_OAUTH_CLIENT_ID;
  const clientSecret = secret(env, 'ZENDESK_OAUTH_CLIENT_SECRET');
  const refreshToken = secret(env, 'ZENDESK_OAUTH_REFRESH_TOKEN');
  if (clientId && refreshToken) return { kind: 'oauth_refresh', clientId, clientSecret, refreshToken };
  if (clientId && clientSecret) return { kind: 'oauth_client_credentials', clientId, clientSecret, scope: env.ZENDESK_OAUTH_SCOPE };
  if (oauthToken) return { kind: 'oauth_token', accessToken: oauthToken };
  if (apiToken) {
    if (!email) throw new ZendeskConfigError('ZENDESK_API_TOKEN is set but ZENDESK_EMAIL is not: an API token needs the email of its user.');
    return { kind: 'api_token', email, token: apiToken };
  }
  if (secret(env, 'ZENDESK_PASSWORD')) return { kind: 'password', email: email ?? '' };
  return undefined;
}

function fromFileEntry(account: string, entry: Record<string, string | undefined>): AccountConfig {
  const env: Env = {
    ZENDESK_EMAIL: entry.email,
    ZENDESK_API_TOKEN: entry.apiToken,
    ZENDESK_OAUTH_TOKEN: entry.oauthToken,
    ZENDESK_OAUTH_CLIENT_ID: entry.clientId,
    ZENDESK_OAUTH_CLIENT_SECRET: entry.clientSecret,
    ZENDESK_OAUTH_REFRESH_TOKEN: entry.refreshToken,
    ZENDESK_OAUTH_SCOPE: entry.scope,
    ZENDESK_PASSWORD: entry.password,
  };
  const credentials = credentialsFromEnv(env);
  if (!credentials) throw new ZendeskConfigError(`The credentials file has no usable credentials for account "${account}".`);
  return { credentials, baseUrl: entry.baseUrl };
}

/**
 * Resolves an account's configuration. Order: the credentials file (ZENDESK_CREDENTIALS_FILE, a JSON
 * object keyed by account), then the ZENDESK_* variables. Throws ZendeskConfigError, naming the
 * account and the variables to set, when there are none.
 */
export function accountConfig(account: string, env: Env = process.env): AccountConfig {
  const file = env.ZENDESK_CREDENTIALS_FILE;
  if (file) {
    let all: Record<string, Record<string, string>>;
    try {
      all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
    } catch (err) {
      throw new ZendeskConfigError(`Could not read ZENDESK_CREDENTIALS_FILE (${file}): ${(err as Error).message.split('\n')[0]}.`);
    }
    const entry = all[account];
    if (entry) return fromFileEntry(account, entry);
  }
  const credentials = credentialsFromEnv(env);
  if (!credentials) {
    throw new ZendeskConfigError(
      `The worker has no Zendesk credentials for account "${account}": set ZENDESK_EMAIL and ZENDESK_API_TOKEN, ` +
        `ZENDESK_OAUTH_TOKEN, or ZENDESK_OAUTH_CLIENT_ID with ZENDESK_OAUTH_REFRESH_TOKEN or ZENDESK_OAUTH_CLIENT_SECRET.`,
    );
  }
  return { credentials, baseUrl: env.ZENDESK_BASE_URL };
}
