/**
 * Rate limits as Zendesk applies and reports them: rolling windows per account and bucket (every
 * credential and app of an account shares them), the account-wide headers every answer carries, and
 * the bucket header (`zendesk-ratelimit-…: total=N; remaining=R; resets=S`) that newer answers add.
 */
import { RATE_BUCKETS, defaultBudget, type RateBucket, type RateBudget } from '../zendesk/endpoints';

/** Accepted request times inside the last `seconds`, oldest first. */
export class RollingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(readonly seconds: number) {}

  /** Drops times that left the window; returns how many remain. */
  count(now: number): number {
    const from = now - this.seconds * 1000;
    while (this.head < this.times.length && this.times[this.head]! <= from) this.head++;
    // Compact now and then, so a long run does not keep every time it ever saw.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): number {
    this.count(now);
    this.times.push(now);
    return this.times.length - this.head;
  }

  /** Whole seconds until the oldest time in the window leaves it (a slot frees), at least 1. */
  resetsIn(now: number): number {
    if (this.count(now) === 0) return this.seconds;
    return Math.max(1, Math.ceil((this.times[this.head]! + this.seconds * 1000 - now) / 1000));
  }
}

/** A budget enforced per account and bucket: at most N accepted requests in any S seconds. */
export class Limiter {
  readonly window: RollingWindow;

  constructor(
    readonly requests: number,
    seconds: number,
  ) {
    this.window = new RollingWindow(seconds);
  }

  /** Accepts and counts the request, or returns the Retry-After seconds without counting it. */
  take(now: number): { ok: true; used: number } | { ok: false; retryAfter: number } {
    if (this.window.count(now) >= this.requests) return { ok: false, retryAfter: this.window.resetsIn(now) };
    return { ok: true, used: this.window.add(now) };
  }

  /** The value of the bucket's header: `total=N; remaining=R; resets=S`. */
  header(now: number): string {
    const remaining = Math.max(0, this.requests - this.window.count(now));
    return `total=${this.requests}; remaining=${remaining}; resets=${this.window.resetsIn(now)}`;
  }
}

/**
 * The account headers' generation: `ratelimit-limit/remaining/reset` as recorded in 2024, or
 * `rate-limit-limit/remaining/reset` as recorded in 2023. Both come with `x-rate-limit(-remaining)`.
 */
export type AccountHeaders = 'ratelimit' | 'rate-limit';
export const ACCOUNT_HEADER_STYLES: readonly AccountHeaders[] = ['ratelimit', 'rate-limit'];

export interface RateLimitOptions {
  /** Budgets per bucket, or 'off'. Unlisted buckets keep the table's RATE_BUCKETS. */
  budgets?: 'off' | Partial<Record<RateBucket, RateBudget>>;
  accountHeaders: AccountHeaders;
  /** Send the bucket header (seen live in 2026, absent from the 2023-2024 recordings). */
  bucketHeader: boolean;
}

/** The plan limit Zendesk reports in X-Rate-Limit (Enterprise); reported, not enforced. */
const ACCOUNT_LIMIT = 700;
const ACCEPTED_KEPT = 10_000;

export type Headers = Record<string, string>;

export class RateLimits {
  private readonly limiters = new Map<string, Limiter>();
  private readonly accountWindows = new Map<string, RollingWindow>();
  /** Accepted requests per `account:bucket`, for the stats: even with limits off. */
  private peaks = new Map<string, RollingWindow>();
  private usage = emptyUsage();

  constructor(private readonly options: RateLimitOptions) {}

  private budget(bucket: RateBucket): RateBudget | undefined {
    const { budgets } = this.options;
    return budgets === 'off' ? undefined : (budgets?.[bucket] ?? defaultBudget(bucket));
  }

  private limiter(account: string, bucket: RateBucket): Limiter | undefined {
    const b = this.budget(bucket);
    if (!b) return undefined;
    const key = `${account}:${bucket}`;
    let l = this.limiters.get(key);
    if (!l) this.limiters.set(key, (l = new Limiter(b.requests, b.seconds)));
    return l;
  }

  /** The headers every API answer carries, counting this request against the account's minute. */
  accountHeaders(account: string, now: number): Headers {
    let window = this.accountWindows.get(account);
    if (!window) this.accountWindows.set(account, (window = new RollingWindow(60)));
    const remaining = String(Math.max(0, ACCOUNT_LIMIT - window.add(now)));
    const prefix = this.options.accountHeaders;
    return {
      'X-Rate-Limit': String(ACCOUNT_LIMIT),
      'X-Rate-Limit-Remaining': remaining,
      [`${prefix}-limit`]: String(ACCOUNT_LIMIT),
      [`${prefix}-remaining`]: remaining,
      [`${prefix}-reset`]: String(window.resetsIn(now)),
      'Zendesk-Api-Version': '2022-01-01',
    };
  }

  /** The bucket's header as it stands, or none (limits off, or the header not sent). */
  bucketHeader(account: string, bucket: RateBucket, now: number): Headers {
    const l = this.limiter(account, bucket);
    return l && this.options.bucketHeader ? { [RATE_BUCKETS[bucket].header]: l.header(now) } : {};
  }

  /** The bucket's header for a 429 that did not come from this limiter (another app spent the budget). */
  emptyBucketHeader(account: string, bucket: RateBucket, resets: number): Headers {
    const l = this.limiter(account, bucket);
    return l && this.options.bucketHeader ? { [RATE_BUCKETS[bucket].header]: `total=${l.requests}; remaining=0; resets=${resets}` } : {};
  }

  /** Spends a slot of the bucket, or says how long to wait; the headers to send either way. */
  take(account: string, bucket: RateBucket, now: number): { ok: true; headers: Headers } | { ok: false; retryAfter: number; headers: Headers } {
    const l = this.limiter(account, bucket);
    if (l) {
      const taken = l.take(now);
      if (!taken.ok) return { ok: false, retryAfter: taken.retryAfter, headers: this.bucketHeader(account, bucket, now) };
    }
    this.recordAccepted(`${account}:${bucket}`, bucket, now);
    return { ok: true, headers: this.bucketHeader(account, bucket, now) };
  }

  private recordAccepted(key: string, bucket: RateBucket, now: number): void {
    let window = this.peaks.get(key);
    if (!window) this.peaks.set(key, (window = new RollingWindow(this.budget(bucket)?.seconds ?? defaultBudget(bucket).seconds)));
    const inWindow = window.add(now);
    const u = this.usage;
    u.peakInWindowByAccount[key] = Math.max(u.peakInWindowByAccount[key] ?? 0, inWindow);
    u.peakInWindow[bucket] = Math.max(u.peakInWindow[bucket] ?? 0, inWindow);
    const times = (u.acceptedAt[key] ??= []);
    times.push(now);
    if (times.length > ACCEPTED_KEPT * 1.2) times.splice(0, times.length - ACCEPTED_KEPT);
  }

  /** Peaks and accepted times since the last reset (a copy). */
  snapshot(): RateUsage {
    const copy = structuredClone(this.usage);
    for (const [key, times] of Object.entries(copy.acceptedAt)) if (times.length > ACCEPTED_KEPT) copy.acceptedAt[key] = times.slice(-ACCEPTED_KEPT);
    return copy;
  }

  resetUsage(): void {
    this.usage = emptyUsage();
    this.peaks = new Map();
  }
}

export interface RateUsage {
  /** Per bucket, the most accepted requests of one account inside any window of the bucket's length. */
  peakInWindow: Partial<Record<RateBucket, number>>;
  /** The same per `account:bucket`. */
  peakInWindowByAccount: Record<string, number>;
  /** Accepted request times (epoch ms) per `account:bucket`, the last 10,000. */
  acceptedAt: Record<string, number[]>;
}

const emptyUsage = (): RateUsage => ({ peakInWindow: {}, peakInWindowByAccount: {}, acceptedAt: {} });
