/**
 * Zendesk failures, classified for Temporal. Each class's `type` is also the Temporal failure type,
 * so the retry policy can name the ones that must not be retried. No error ever carries a token, a
 * password or a request header. Pure: workflow code imports the type names.
 */
import type { RateLimitState } from './page';

export type ZendeskErrorType =
  | 'ZendeskAuthError'
  | 'ZendeskReauthorizationError'
  | 'ZendeskBadRequestError'
  | 'ZendeskConfigError'
  | 'ZendeskAnswerRefusedError'
  | 'ZendeskUnexpectedAnswerError'
  | 'ZendeskRateLimitedError'
  | 'ZendeskTooRecentError'
  | 'ZendeskTransientError';

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

/**
 * The account's OAuth grant is lost: Zendesk refused the refresh token the account registry holds
 * (revoked in Zendesk, or rotated by a refresh whose answer never reached the registry). Only an admin
 * connecting the account again mends it; its exports show as needing re-authorization.
 */
export class ZendeskReauthorizationError extends ZendeskError {
  readonly type = 'ZendeskReauthorizationError';
  readonly retryable = false;
}

/** 400, 404 and 422 other than "too recent": the request itself is wrong. */
export class ZendeskBadRequestError extends ZendeskError {
  readonly type = 'ZendeskBadRequestError';
  readonly retryable = false;
}

/** The worker cannot call Zendesk for this account: no credentials, a broken file, a form Zendesk no longer takes. */
export class ZendeskConfigError extends ZendeskError {
  readonly type = 'ZendeskConfigError';
  readonly retryable = false;
}

/** An answer that cannot be used as it is, and would be the same again: too large, from the future, a cursor that does not move. */
export class ZendeskAnswerRefusedError extends ZendeskError {
  readonly type = 'ZendeskAnswerRefusedError';
  readonly retryable = false;
}

/**
 * An answer that is not Zendesk's: a redirect, 1xx, 204, an HTML page or other non-JSON 200. Usually a
 * wrong ZENDESK_BASE_URL, a proxy or a captive portal; retried a few times (UNEXPECTED_ANSWER_ATTEMPTS)
 * in case it passes, then the export fails saying so.
 */
export class ZendeskUnexpectedAnswerError extends ZendeskError {
  readonly type = 'ZendeskUnexpectedAnswerError';
  readonly retryable = true;
}

/** Attempts of a page that got answers not from Zendesk before the export gives up. */
export const UNEXPECTED_ANSWER_ATTEMPTS = 5;

/** 429: wait exactly `retryAfterSeconds` (capped), then ask again. */
export class ZendeskRateLimitedError extends ZendeskError {
  readonly type = 'ZendeskRateLimitedError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly rateLimit: RateLimitState,
    /** Zendesk asked for longer than the cap; the export waits the cap and says so. */
    readonly capped = false,
  ) {
    super(message, 429);
  }
}

/** 422 "Too recent start_time": the export has caught up with the present. Not a failure. */
export class ZendeskTooRecentError extends ZendeskError {
  readonly type = 'ZendeskTooRecentError';
  readonly retryable = false;
}

/** 409, 5xx, resets, timeouts, truncated bodies: retry with backoff. */
export class ZendeskTransientError extends ZendeskError {
  readonly type = 'ZendeskTransientError';
  readonly retryable = true;
}

/** When Retry-After and every reset header are missing from a 429. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;

/** Zendesk's words are quoted in messages, but never at length. */
const MAX_QUOTED = 300;

/**
 * Zendesk's own words from an error body, whichever envelope it came in:
 * `{"error":"X","description":"Y"}`, `{"error":{"title","message"}}`, `{"errors":[{code,title,detail}]}`,
 * `{"description","details":{field:[{description}]}}`, or plain text. HTML pages are not quoted.
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
    if (looksLikeHtml(text)) return 'an HTML page';
    return text.replace(/\s+/g, ' ').slice(0, MAX_QUOTED);
  }
  if (typeof body !== 'object') return String(body).slice(0, MAX_QUOTED);
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
  return (parts.filter(Boolean).join(' - ') || JSON.stringify(body)).slice(0, MAX_QUOTED);
}

/**
 * A token endpoint's refusal, in the two fields OAuth defines (RFC 6749 5.2: `error`,
 * `error_description`), each cut short; never the rest of the answer, which is not Zendesk's word
 * alone (a proxy, a hostile base URL) and would land in workflow histories.
 */
export function oauthErrorText(body: unknown, status: number): string {
  let b: unknown = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      b = undefined;
    }
  }
  const field = (name: string, max: number) => {
    const v = b && typeof b === 'object' ? (b as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' ? v.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, max) : '';
  };
  const error = field('error', 60);
  const description = field('error_description', 200);
  return [error, description].filter(Boolean).join(' - ') || `HTTP ${status}`;
}

/** A message without absolute file paths (an unexpected error's, from the file system): they say how the worker is set up. */
export function withoutPaths(message: string): string {
  return message.replace(/(^|[\s'"(=])\/(?:[^\s'"():,/]+\/)*[^\s'"():,/]+/g, '$1<path>');
}

export function looksLikeHtml(text: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body|<\?xml)/i.test(text);
}

/** Zendesk's answer to a too-recent or future start_time (the one-minute rule; older wording: five minutes). */
export function isTooRecent(status: number, text: string): boolean {
  return status === 422 && /too recent start_time/i.test(text);
}

/** Where a likely cause of answers that are not Zendesk's can be fixed. */
export const WRONG_BASE_URL_HINT = 'is ZENDESK_BASE_URL (or the account name) right, and is no proxy or captive portal in the way?';

/**
 * The typed error for an answer that is not a page. `where` names the account and request (never the
 * secret); `authMethod` says which credential was used, for auth failures.
 */
export function errorForStatus(
  status: number,
  body: unknown,
  context: { where: string; authMethod: string; retryAfter?: { seconds: number; capped: boolean }; resetSeconds?: number; rateLimit: RateLimitState },
): ZendeskError {
  const text = zendeskErrorText(body);
  const said = text ? `: ${text}` : '';
  if (status === 429) {
    const wait = context.retryAfter?.seconds ?? context.rateLimit.resetsSeconds ?? context.resetSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    return new ZendeskRateLimitedError(`Zendesk rate limit reached at ${context.where}; retry after ${wait}s${said}`, wait, context.rateLimit, context.retryAfter?.capped);
  }
  if (isTooRecent(status, text)) return new ZendeskTooRecentError(`${context.where}: caught up${said}`, status);
  if (status === 401 || status === 403) {
    const what = status === 401 ? 'rejected the credentials' : 'refused access (an admin is needed)';
    return new ZendeskAuthError(`Zendesk ${what} for ${context.where} (${context.authMethod})${said}`, status);
  }
  if (status < 200 || (status >= 300 && status < 400) || status === 204) {
    const what = status >= 300 && status < 400 ? `a redirect (HTTP ${status})` : `HTTP ${status}`;
    return new ZendeskUnexpectedAnswerError(`Zendesk answered ${what} for ${context.where}, not a page: ${WRONG_BASE_URL_HINT}`, status);
  }
  if (status === 400 || status === 404 || status === 422) {
    return new ZendeskBadRequestError(`Zendesk rejected the request ${context.where} (HTTP ${status})${said}`, status);
  }
  if (status >= 400 && status < 500 && status !== 409 && status !== 408) {
    return new ZendeskBadRequestError(`Zendesk answered HTTP ${status} for ${context.where}${said}`, status);
  }
  return new ZendeskTransientError(`Zendesk answered HTTP ${status} for ${context.where}${said}`, status);
}
