/**
 * The rate budget on workflow time, as pure functions. An export may send at most `share` requests
 * in any window of `budget.seconds`; the shares of an account's exports add up to the account's
 * budget, so together they never exceed it, however their windows line up.
 */
import type { RateBudget } from '../zendesk/endpoints';

/** Slack for clock drift between the worker (which stamps send times) and the Temporal server. */
export const WINDOW_MARGIN_MS = 50;

export interface PaceState {
  /** Send times (epoch ms), oldest first. */
  sent: number[];
  notBefore: number;
  share: number;
  budget: RateBudget;
}

/** Milliseconds to wait before the next request may be sent. */
export function waitBeforeNextRequest(state: PaceState, now: number): number {
  const windowMs = state.budget.seconds * 1000;
  let wait = state.notBefore - now;
  const share = Math.max(1, state.share);
  if (state.sent.length >= share) {
    const oldestInWindow = state.sent[state.sent.length - share]!;
    wait = Math.max(wait, oldestInWindow + windowMs + WINDOW_MARGIN_MS - now);
  }
  return Math.max(0, Math.ceil(wait));
}

/** Records `count` sends at one time, keeping only what the window needs (bounded state). */
export function recordSend(state: PaceState, sentAt: number, count = 1): number[] {
  const keep = Math.max(1, state.share);
  return [...state.sent, ...Array<number>(count).fill(sentAt)].sort((a, b) => a - b).slice(-keep);
}

/**
 * Zendesk's bucket header reported none left after a send: the time to hold off until, or undefined
 * when the export's own pacing explains it. `resets` is whole seconds rounded up, so when the export's
 * own next slot falls within that last second, its own sends emptied the bucket and its pacing, to the
 * millisecond, stands; a slot well before the reset means someone else spent the budget.
 */
export function emptyBucketHold(state: PaceState, sentAt: number, resetsSeconds: number): number | undefined {
  const reset = sentAt + resetsSeconds * 1000;
  const ownSlot = sentAt + waitBeforeNextRequest({ ...state, notBefore: 0 }, sentAt);
  return ownSlot < reset - 1000 ? reset : undefined;
}

/**
 * Integer shares of `requests` among members, in a stable order, adding up to `requests`
 * (10 among 3 gives 4, 3, 3). Every member gets at least one, so none waits forever.
 */
export function divideBudget(requests: number, members: readonly string[]): Record<string, number> {
  const sorted = [...members].sort();
  const base = Math.floor(requests / Math.max(1, sorted.length));
  const extra = requests - base * sorted.length;
  return Object.fromEntries(sorted.map((m, i) => [m, Math.max(1, base + (i < extra ? 1 : 0))]));
}

/**
 * The budget after Zendesk reported the bucket's `total`: tightened at once when it is lower than
 * the setting (a plan without the High Volume add-on, or a lower limit than configured).
 */
export function tightenBudget(budget: RateBudget, reportedTotal: number | undefined): RateBudget {
  if (reportedTotal === undefined || reportedTotal <= 0 || reportedTotal >= budget.requests) return budget;
  return { requests: reportedTotal, seconds: budget.seconds };
}

/** A share scaled down with its budget, so an export slows before the coordinator answers. */
export function scaleShare(share: number, from: RateBudget, to: RateBudget): number {
  if (to.requests >= from.requests) return share;
  return Math.max(1, Math.floor((share * to.requests) / from.requests));
}

/** Requests a member gave up (it left, or its share shrank) at a time: they count against the account for one more window. */
export interface Release {
  at: number;
  count: number;
}

/**
 * Hands `count` freed requests to a member that gains share. Requests freed within the last window
 * may still sit in Zendesk's window, so they come as sends at their release time (the member waits
 * until they age out); requests nobody used recently are free at once.
 */
export function takeReleased(releases: readonly Release[], count: number, now: number, windowMs: number): { sends: number[]; releases: Release[] } {
  const live = releases.filter((r) => r.at + windowMs > now).map((r) => ({ ...r }));
  const sends: number[] = [];
  for (const r of live) {
    while (r.count > 0 && sends.length < count) {
      sends.push(r.at);
      r.count--;
    }
  }
  return { sends, releases: live.filter((r) => r.count > 0) };
}
