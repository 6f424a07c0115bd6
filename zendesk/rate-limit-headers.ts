/**
 * Reading Zendesk's rate-limit headers. What Zendesk sends varies: the export bucket's own header
 * (`zendesk-ratelimit-incremental-exports: total=10; remaining=9; resets=42`, seen live in 2026) may be
 * absent; the account-wide headers come as `x-rate-limit` with `ratelimit-limit/remaining/reset` (2024)
 * or `rate-limit-limit/remaining/reset` (2023). Read what is there; values are Zendesk's answers, so
 * they are bounded before anyone waits on them.
 */
import type { RateLimitState } from './page';

type Headers = Record<string, unknown>;

/** No wait Zendesk asks for is believed beyond this (a `Retry-After: 999999999` would park an export for decades). */
export const MAX_WAIT_SECONDS = 3600;

function header(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== null && value !== false) {
      return Array.isArray(value) ? String(value[0]) : String(value);
    }
  }
  return undefined;
}

/** A whole number of at least 0 from a header value, or undefined. */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,12}\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The rate-limit state of a response. The export bucket's header (`bucketHeader`) is the one that
 * paces; `x-rate-limit` is the plan's account limit (700 a minute on Enterprise), and pacing on it would
 * overrun the 10-a-minute export bucket, so it is only reported.
 */
export function readRateLimitHeaders(headers: Headers, bucketHeader: string): RateLimitState {
  const state: RateLimitState = {
    accountLimit: count(header(headers, 'x-rate-limit')) ?? count(header(headers, 'ratelimit-limit')) ?? count(header(headers, 'rate-limit-limit')),
    accountRemaining:
      count(header(headers, 'x-rate-limit-remaining')) ?? count(header(headers, 'ratelimit-remaining')) ?? count(header(headers, 'rate-limit-remaining')),
  };
  const bucket = header(headers, bucketHeader);
  if (bucket) {
    state.bucket = bucketHeader.toLowerCase();
    for (const part of bucket.split(/[;,]/)) {
      const [k, v] = part.split('=').map((s) => s.trim().toLowerCase());
      if (k === 'total') state.total = count(v);
      if (k === 'remaining') state.remaining = count(v);
      if (k === 'resets') state.resetsSeconds = boundedWait(count(v));
    }
  }
  return state;
}

/** The account-wide reset (`ratelimit-reset`, or `rate-limit-reset` in 2023), in seconds. */
export function accountResetSeconds(headers: Headers): number | undefined {
  return boundedWait(count(header(headers, 'ratelimit-reset')) ?? count(header(headers, 'rate-limit-reset')));
}

function boundedWait(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.min(seconds, MAX_WAIT_SECONDS);
}

/**
 * Whole seconds from a Retry-After header (seconds or an HTTP date), undefined when absent, and
 * whether Zendesk asked for more than MAX_WAIT_SECONDS (the wait is then capped).
 */
export function retryAfter(headers: Headers, nowMs = Date.now()): { seconds: number; capped: boolean } | undefined {
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  let seconds = Number(value.trim());
  if (!value.trim() || !Number.isFinite(seconds)) {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    seconds = (at - nowMs) / 1000;
  }
  seconds = Math.max(0, Math.ceil(seconds));
  return { seconds: Math.min(seconds, MAX_WAIT_SECONDS), capped: seconds > MAX_WAIT_SECONDS };
}
