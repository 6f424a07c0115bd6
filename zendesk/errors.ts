/**
 * Zendesk failures, classified for Temporal. Each class name is also the Temporal failure `type`, so
 * the workflow's retry policy can name the ones that must not be retried. No error ever carries a
 * token, a password or a request header. Pure: workflow code imports the type names.
 */
import type { RateLimitState } from './page';

export type ZendeskErrorType =
  | 'ZendeskAuthError'
  | 'ZendeskBadRequestError'
  | 'ZendeskConfigError'
  | 'ZendeskRateLimitedError'
  | 'ZendeskTooRecentError'
  | 'ZendeskTransientError';

/** Failures that retrying cannot mend: the export fails at once with Zendesk's message. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ZendeskErrorType[] = [
  'ZendeskAuthError',
  'ZendeskBadRequestError',
  'ZendeskConfigError',
];

export abstract class ZendeskError extends Error {
  abstract readonly type: ZendeskErrorType;
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    /** HTTP status, when Zendesk answered at all. */
    readonly status?: number,
  ) {
    super(message);
  }
  override get name(): string {
    return this.type;
  }
}

/** 401/403: the credential is wrong, expired beyond refresh, or lacks the admin role. */
export class ZendeskAuthError extends ZendeskError {
  readonly type = 'ZendeskAuthError';
  readonly retryable = false;
}

/** 400, 404 and 422 other than "too recent": the request itself is wrong. */
export class ZendeskBadRequestError extends ZendeskError {
  readonly type = 'ZendeskBadRequestError';
  readonly retryable = false;
}

/** The worker cannot call Zendesk for this account: no credentials, or a form Zendesk no longer takes. */
export class ZendeskConfigError extends ZendeskError {
  readonly type = 'ZendeskConfigError';
  readonly retryable = false;
}

/** 429: wait exactly `retryAfterSeconds`, then ask again. */
export class ZendeskRateLimitedError extends ZendeskError {
  readonly type = 'ZendeskRateLimitedError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly rateLimit: RateLimitState,
  ) {
    super(message, 429);
  }
}

/** 422 "Too recent start_time": the export has caught up with the present. Not a failure. */
export class ZendeskTooRecentError extends ZendeskError {
  readonly type = 'ZendeskTooRecentError';
  readonly retryable = false;
}

/** 409, 5xx, resets, timeouts, truncated or malformed bodies: retry with backoff. */
export class ZendeskTransientError extends ZendeskError {
  readonly type = 'ZendeskTransientError';
  readonly retryable = true;
}

/** When Retry-After and the bucket's reset are both missing from a 429. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;

/**
 * Zendesk's own words from an error body, whichever envelope it came in:
 * `{"error":"X","description":"Y"}`, `{"error":{"title","message"}}`, `{"errors":[{code,title,detail}]}`,
 * `{"description","details":{field:[{description}]}}`, or plain text.
 */
export function zendeskErrorText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') {
    const text = body.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        return zendeskErrorText(JSON.parse(text));
      } catch {
        // Not JSON after all: fall through to the text itself.
      }
    }
    return text.slice(0, 300);
  }
  if (typeof body !== 'object') return String(body);
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof b.error === 'string') parts.push(b.error);
  if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    parts.push(...[e.title, e.message].filter((v): v is string => typeof v === 'string'));
  }
  if (typeof b.description === 'string') parts.push(b.description);
  if (Array.isArray(b.errors)) {
    for (const e of b.errors as Record<string, unknown>[]) {
      parts.push([e?.code, e?.title, e?.detail].filter((v) => typeof v === 'string').join(': '));
    }
  }
  if (b.details && typeof b.details === 'object') {
    for (const [field, list] of Object.entries(b.details as Record<string, unknown>)) {
      const descriptions = Array.isArray(list) ? list.map((d) => (d as { description?: unknown })?.description) : [];
      parts.push(`${field}: ${descriptions.filter((d) => typeof d === 'string').join('; ')}`);
    }
  }
  return parts.filter(Boolean).join(' - ') || JSON.stringify(body).slice(0, 300);
}

/** Zendesk's answer to a too-recent or future start_time (the one-minute rule). */
export function isTooRecent(status: number, text: string): boolean {
  return status === 422 && /too recent start_time/i.test(text);
}

/**
 * The typed error for a non-2xx answer. `where` names the account and request (never the secret);
 * `authMethod` says which credential was used, for auth failures.
 */
export function errorForStatus(
  status: number,
  body: unknown,
  context: { where: string; authMethod: string; retryAfterSeconds?: number; rateLimit: RateLimitState },
): ZendeskError {
  const text = zendeskErrorText(body);
  const said = text ? `: ${text}` : '';
  if (status === 429) {
    const wait = context.retryAfterSeconds ?? context.rateLimit.resetsSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    return new ZendeskRateLimitedError(`Zendesk rate limit reached at ${context.where}; retry after ${wait}s${said}`, wait, context.rateLimit);
  }
  if (isTooRecent(status, text)) return new ZendeskTooRecentError(`${context.where}: caught up${said}`, status);
  if (status === 401 || status === 403) {
    const what = status === 401 ? 'rejected the credentials' : 'refused access (an admin is needed)';
    return new ZendeskAuthError(`Zendesk ${what} for ${context.where} (${context.authMethod})${said}`, status);
  }
  if (status === 400 || status === 404 || status === 422) {
    return new ZendeskBadRequestError(`Zendesk rejected the request ${context.where} (HTTP ${status})${said}`, status);
  }
  if (status >= 400 && status < 500 && status !== 409 && status !== 408) {
    return new ZendeskBadRequestError(`Zendesk answered HTTP ${status} for ${context.where}${said}`, status);
  }
  return new ZendeskTransientError(`Zendesk answered HTTP ${status} for ${context.where}${said}`, status);
}
