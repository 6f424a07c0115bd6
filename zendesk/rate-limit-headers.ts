/** Reading Zendesk's rate-limit headers. */
import type { RateLimitState } from './page';

type Headers = Record<string, unknown>;

function header(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== null && value !== false) {
      return Array.isArray(value) ? String(value[0]) : String(value);
    }
  }
  return undefined;
}

function int(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The rate-limit state of a response. The export bucket's own header (`zendesk-ratelimit-<bucket>:
 * total=10; remaining=9; resets=42`) comes first; `X-Rate-Limit` is only the plan's account limit, and
 * pacing on it would overrun the 10-a-minute export bucket. `ratelimit-*` fill gaps.
 */
export function parseRateLimit(headers: Headers, bucketHeader: string): RateLimitState {
  const state: RateLimitState = {
    accountLimit: int(header(headers, 'x-rate-limit')),
    accountRemaining: int(header(headers, 'x-rate-limit-remaining')),
  };
  const bucket = header(headers, bucketHeader);
  if (bucket) {
    state.bucket = bucketHeader.toLowerCase();
    for (const part of bucket.split(/[;,]/)) {
      const [k, v] = part.split('=').map((s) => s.trim().toLowerCase());
      if (k === 'total') state.total = int(v);
      if (k === 'remaining') state.remaining = int(v);
      if (k === 'resets') state.resetsSeconds = int(v);
    }
  } else {
    state.resetsSeconds = int(header(headers, 'ratelimit-reset'));
  }
  return state;
}

/** Whole seconds from a Retry-After header (seconds or an HTTP date); undefined when absent. */
export function retryAfterSeconds(headers: Headers, nowMs = Date.now()): number | undefined {
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}
