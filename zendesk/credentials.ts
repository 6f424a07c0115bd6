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

function fromFileEntry(account: string, entry: Record<string, string | undefined>, workerEnv: Env): AccountConfig {
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
  if (!credentials) throw new ZendeskConfigError(`ZENDESK_CREDENTIALS_FILE has no usable credentials for account "${account}".`);
  // ZENDESK_BASE_URL (with `{account}`) applies to every entry that does not name its own.
  return { credentials, baseUrl: entry.baseUrl ?? workerEnv.ZENDESK_BASE_URL };
}

/**
 * The accounts the environment's ZENDESK_* credentials serve: ZENDESK_ACCOUNTS (comma-separated), else
 * ZENDESK_SUBDOMAIN. Credentials are bound to accounts, so a workflow input naming any other account
 * cannot borrow them (nor send them to that account's host).
 */
export function envAccounts(env: Env): string[] {
  const list = env.ZENDESK_ACCOUNTS || env.ZENDESK_SUBDOMAIN || '';
  return list.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean);
}

/** The credentials file: a JSON object keyed by account. Its keys are the accounts it serves. */
function readCredentialsFile(file: string): Record<string, Record<string, string | undefined>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ZendeskConfigError(`Could not read ZENDESK_CREDENTIALS_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}.`);
  }
  // Never quote the file: a parser's message would show part of it, and it holds secrets.
  let all: unknown;
  try {
    all = JSON.parse(text);
  } catch {
    all = undefined;
  }
  const entries = all && typeof all === 'object' && !Array.isArray(all) ? Object.values(all) : undefined;
  if (!entries || entries.some((e) => !e || typeof e !== 'object' || Array.isArray(e) || Object.values(e).some((v) => typeof v !== 'string'))) {
    throw new ZendeskConfigError(
      `ZENDESK_CREDENTIALS_FILE (${file}) is not a JSON object of accounts, each an object of strings ({"acme": {"email": "...", "apiToken": "..."}}).`,
    );
  }
  return all as Record<string, Record<string, string | undefined>>;
}

/**
 * Resolves an account's configuration: from the credentials file (ZENDESK_CREDENTIALS_FILE), when it
 * names the account, else from the ZENDESK_* variables, when they serve it (see envAccounts). Throws
 * ZendeskConfigError, naming the account and what to set, for any account the worker does not serve.
 */
export function accountConfig(account: string, env: Env = process.env): AccountConfig {
  const file = env.ZENDESK_CREDENTIALS_FILE;
  if (file) {
    const all = readCredentialsFile(file);
    if (Object.hasOwn(all, account)) return fromFileEntry(account, all[account]!, env);
  }
  const credentials = credentialsFromEnv(env);
  if (!credentials) {
    throw new ZendeskConfigError(
      `The worker has no Zendesk credentials for account "${account}": set ZENDESK_SUBDOMAIN with ZENDESK_EMAIL and ZENDESK_API_TOKEN, ` +
        `ZENDESK_OAUTH_TOKEN, or ZENDESK_OAUTH_CLIENT_ID with ZENDESK_OAUTH_REFRESH_TOKEN or ZENDESK_OAUTH_CLIENT_SECRET` +
        (file ? `, or add the account to ZENDESK_CREDENTIALS_FILE.` : '.'),
    );
  }
  if (!envAccounts(env).includes(account)) {
    throw new ZendeskConfigError(
      `The worker's credentials are not for account "${account}": they serve ZENDESK_SUBDOMAIN (or the list in ZENDESK_ACCOUNTS)` +
        (file ? ', and ZENDESK_CREDENTIALS_FILE has no entry for it.' : '.'),
    );
  }
  return { credentials, baseUrl: env.ZENDESK_BASE_URL };
}
