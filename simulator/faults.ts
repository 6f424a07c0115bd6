/**
 * Injected faults, as from a flaky network, a load balancer or another app sharing the budget: 5xx
 * bursts with varying bodies, dropped connections, stalls, truncated bodies, foreign 429s, latency.
 * `xxxNext` counts are exact; `xxxRate` shares are drawn from the seed, so a seed fails the same requests.
 */
import http from 'node:http';
import { seededRandom } from './random';

export interface Faults {
  /** Statuses the failing requests answer with, in turn. @default [500, 503] */
  failStatus: number[];
  failNext: number;
  failRate: number;
  /** Destroy the socket without an answer. */
  dropNext: number;
  dropRate: number;
  /** Added to every export request. */
  latencyMs: number;
  /**
   * Added to every token answer after the grant has rotated (a slow way back): the window in which a
   * refresher that died would take the only valid refresh token with it.
   */
  tokenAnswerLatencyMs: number;
  /** Answer only after `stallMs` (past a client's timeout). */
  stallNext: number;
  stallRate: number;
  stallMs: number;
  /** A 200 whose JSON body is cut in half. */
  malformedNext: number;
  malformedRate: number;
  /** Answer 429 with `Retry-After: retryAfterSeconds`, as when another app spent the budget. */
  rateLimitNext: number;
  retryAfterSeconds: number;
}

export const DEFAULT_FAULTS: Readonly<Faults> = {
  failStatus: [500, 503], failNext: 0, failRate: 0, dropNext: 0, dropRate: 0, latencyMs: 0, tokenAnswerLatencyMs: 0,
  stallNext: 0, stallRate: 0, stallMs: 0, malformedNext: 0, malformedRate: 0, rateLimitNext: 0, retryAfterSeconds: 30,
};

/** How many requests each kind of fault hit. */
export interface FaultCounts {
  failed: number;
  dropped: number;
  stalled: number;
  malformed: number;
  rateLimited: number;
}

export const noFaultCounts = (): FaultCounts => ({ failed: 0, dropped: 0, stalled: 0, malformed: 0, rateLimited: 0 });

type Pending = 'failNext' | 'dropNext' | 'stallNext' | 'malformedNext' | 'rateLimitNext';

/** Sends an answer (and counts it); a string body is text/plain unless a type is given. */
export type Answer = (status: number, body: unknown, contentType?: string) => void;

export class FaultInjector {
  private faults: Faults;
  private readonly random: () => number;
  private failTurn = 0;
  private readonly sleepers = new Set<() => void>();
  counts = noFaultCounts();

  constructor(initial: Partial<Faults> | undefined, seed: number) {
    this.faults = { ...DEFAULT_FAULTS, ...initial };
    this.random = seededRandom(seed ^ 0x5eed5eed);
  }

  current(): Faults {
    return structuredClone(this.faults);
  }

  set(faults: Partial<Faults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Whether a fault of this kind hits now: a pending count first, then the seeded rate. */
  private hit(next: Pending, rate: number): boolean {
    if (this.faults[next] > 0) {
      this.faults[next]--;
      return true;
    }
    return rate > 0 && this.random() < rate;
  }

  /** Latency, drops, stalls and 5xx, before the request is looked at. Returns true when it answered. */
  async beforeAnswer(res: http.ServerResponse, answer: Answer): Promise<boolean> {
    const f = this.faults;
    if (f.latencyMs > 0) await this.sleep(f.latencyMs);
    if (this.hit('dropNext', f.dropRate)) {
      this.counts.dropped++;
      res.socket?.destroy();
      return true;
    }
    if (this.hit('stallNext', f.stallRate)) {
      this.counts.stalled++;
      await this.sleep(f.stallMs);
      if (res.socket?.destroyed) return true;
    }
    if (this.hit('failNext', f.failRate)) {
      this.counts.failed++;
      const turn = this.failTurn++;
      const status = f.failStatus[turn % Math.max(1, f.failStatus.length)] ?? 500;
      const reason = `${status} ${http.STATUS_CODES[status] ?? 'Error'}`;
      // The body varies as behind real proxies: JSON, plain text, an HTML error page.
      if (turn % 3 === 0) answer(status, { error: 'InternalServerError', description: 'Something went wrong, please try again' });
      else if (turn % 3 === 1) answer(status, reason);
      else answer(status, `<html><body><h1>${reason}</h1></body></html>`, 'text/html');
      return true;
    }
    return false;
  }

  /** The delay of a token answer, once its grant has rotated. */
  async beforeTokenAnswer(): Promise<void> {
    if (this.faults.tokenAnswerLatencyMs > 0) await this.sleep(this.faults.tokenAnswerLatencyMs);
  }

  /** A foreign 429 now: the Retry-After to send, or undefined. */
  rateLimitNow(): number | undefined {
    if (!this.hit('rateLimitNext', 0)) return undefined;
    this.counts.rateLimited++;
    return Math.max(0, Math.ceil(this.faults.retryAfterSeconds));
  }

  /** The body as sent: cut in half when a malformed fault hits. */
  malform(text: string): string {
    if (!this.hit('malformedNext', this.faults.malformedRate)) return text;
    this.counts.malformed++;
    return text.slice(0, Math.floor(text.length / 2));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** Ends every latency and stall at once (the server is closing). */
  wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }
}
