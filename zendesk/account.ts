/**
 * A Zendesk account is named by its subdomain, and that name decides where the worker sends the
 * account's credentials. So the name is checked before it is used anywhere (a URL, a path, a
 * query), and every URL is built with the URL API and checked against the one origin it may have:
 * `https://<account>.zendesk.com`, or exactly the configured override's. Pure.
 */
import { ZendeskConfigError } from './errors';

/** A DNS label: letters, digits and inner hyphens, at most 63 characters. Zendesk subdomains are lower case. */
const ACCOUNT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isAccountName(value: unknown): value is string {
  return typeof value === 'string' && ACCOUNT_NAME.test(value);
}

/** Where an account's API lives: requests go to `origin` + `prefix` + path, and nowhere else. */
export interface AccountUrl {
  origin: string;
  /** A path prefix from ZENDESK_BASE_URL (a proxy or simulator mounted below the root), without a trailing slash. */
  prefix: string;
}

/**
 * The account's URL: `https://<account>.zendesk.com`, or the override (ZENDESK_BASE_URL, where
 * `{account}` stands for the account's name). Throws ZendeskConfigError for a name or override that
 * could send a request anywhere else; the message never repeats the override's user or password.
 */
export function accountUrl(account: string, override?: string): AccountUrl {
  if (!isAccountName(account)) throw new ZendeskConfigError(`"${printable(account)}" is not a Zendesk account name (a subdomain: lower-case letters, digits and hyphens).`);
  if (!override) return { origin: `https://${account}.zendesk.com`, prefix: '' };
  let url: URL;
  try {
    url = new URL(override.replaceAll('{account}', account));
  } catch {
    throw new ZendeskConfigError('ZENDESK_BASE_URL is not a URL (for example https://acme.zendesk.com or http://127.0.0.1:8080/accounts/{account}).');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ZendeskConfigError('ZENDESK_BASE_URL must be an http or https URL.');
  if (url.username || url.password) throw new ZendeskConfigError('ZENDESK_BASE_URL must not carry a user or password: credentials go in their own variables.');
  if (url.search || url.hash) throw new ZendeskConfigError('ZENDESK_BASE_URL must not carry a query or fragment.');
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** The URL of `path` (e.g. `/api/v2/incremental/tickets`) for an account; throws if it would leave the account's origin. */
export function requestUrl(base: AccountUrl, path: string, params: Record<string, string> = {}): URL {
  const url = new URL(`${base.prefix}${path}`, base.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (url.origin !== base.origin || !url.pathname.startsWith(`${base.prefix}/`)) {
    throw new ZendeskConfigError(`Refused to send a request outside ${base.origin}${base.prefix}.`);
  }
  return url;
}

/** The account's URL in words, for messages. */
export function describeAccountUrl(base: AccountUrl): string {
  return `${base.origin}${base.prefix}`;
}

/** A value from outside, safe to quote in one line (whatever its shape: a deep array is not walked). */
export function printable(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === null || typeof value !== 'object') text = String(value);
  else text = Array.isArray(value) ? `an array of ${value.length}` : 'an object';
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
