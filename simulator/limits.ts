/** Rolling-window rate limiting: at most N accepted requests in any S seconds. */

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

/** A budget enforced per account and bucket. */
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
