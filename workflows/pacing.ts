/**
 * The rate budget on workflow time, as pure functions. An export may send at most `share` requests
 * in any window of `budget.seconds`; the shares of an account's exports add up to at most the
 * account's budget, so together they never exceed it, however their windows line up. Every change to
 * a PaceState goes through these functions, which return a new one.
 */
import type { PaceState } from '../contract/export';
import type { RateBudget } from '../zendesk/endpoints';

/** Slack for clock drift between the worker (which stamps send times) and the Temporal server. */
export const WINDOW_MARGIN_MS = 50;

export type { PaceState };

export function startPace(budget: RateBudget, share: number, sends: readonly number[] = []): PaceState {
  return { sent: mergeSends([], sends, share), notBefore: 0, share, budget };
}

/** `sent` and `more`, in order, keeping only what the window can still need (bounded state). */
function mergeSends(sent: readonly number[], more: readonly number[], share: number): number[] {
  const all = more.length ? [...sent, ...more].sort((a, b) => a - b) : [...sent];
  return all.slice(-Math.max(1, share));
}

/** The sends still inside the window at `now`, oldest first. */
function sendsInWindow(pace: PaceState, now: number): number[] {
  const windowStart = now - pace.budget.seconds * 1000 - WINDOW_MARGIN_MS;
  return pace.sent.filter((t) => t > windowStart);
}

/** Requests that may leave now (0 while the window is full, a hold runs or the export is queued). */
export function requestsAllowed(pace: PaceState, now: number): number {
  if (pace.share <= 0 || pace.notBefore > now) return 0;
  return Math.max(0, pace.share - sendsInWindow(pace, now).length);
}

/**
 * The slots that free within `horizonMs` after the requests allowed now: one as each send in the
 * window leaves it, in ms from now. A run carries these out itself, so the slots a burst freed one by
 * one are used as they free, without a workflow round trip each. Empty while a hold runs or the
 * export is queued.
 */
export function laterSlots(pace: PaceState, now: number, horizonMs: number): number[] {
  if (requestsAllowed(pace, now) === 0) return [];
  const windowMs = pace.budget.seconds * 1000;
  return sendsInWindow(pace, now)
    .map((t) => Math.ceil(t + windowMs + WINDOW_MARGIN_MS - now))
    .filter((ms) => ms <= horizonMs);
}

/** Milliseconds to wait before the next request may be sent (Infinity while queued with no share). */
export function waitBeforeNextRequest(pace: PaceState, now: number): number {
  if (pace.share <= 0) return Infinity;
  const windowMs = pace.budget.seconds * 1000;
  let wait = pace.notBefore - now;
  if (pace.sent.length >= pace.share) {
    const oldestInWindow = pace.sent[pace.sent.length - pace.share]!;
    wait = Math.max(wait, oldestInWindow + windowMs + WINDOW_MARGIN_MS - now);
  }
  return Math.max(0, Math.ceil(wait));
}

/** The pace after requests left at `times` (failed ones too: Zendesk may have counted them). */
export function recordSends(pace: PaceState, times: readonly number[]): PaceState {
  return { ...pace, sent: mergeSends(pace.sent, times, pace.share) };
}

/** The coordinator's new share and budget, with sends others made that still count against it. */
export function acceptShare(pace: PaceState, share: number, budget: RateBudget, sends: readonly number[]): PaceState {
  return { ...pace, share, budget, sent: mergeSends(pace.sent, sends, share) };
}

/** No request before `until` (a Retry-After, an empty bucket). */
export function holdUntil(pace: PaceState, until: number): PaceState {
  return until > pace.notBefore ? { ...pace, notBefore: until } : pace;
}

/**
 * Zendesk's bucket header reported none left after a send: the time to hold off until, or undefined
 * when the export's own pacing explains it. `resets` is whole seconds rounded up, so when the export's
 * own next slot falls within that last second, its own sends emptied the bucket and its pacing, to the
 * millisecond, stands; a slot well before the reset means someone else spent the budget.
 */
export function emptyBucketHold(pace: PaceState, sentAt: number, resetsSeconds: number): number | undefined {
  const reset = sentAt + resetsSeconds * 1000;
  const ownSlot = sentAt + waitBeforeNextRequest({ ...pace, notBefore: 0 }, sentAt);
  return ownSlot < reset - 1000 ? reset : undefined;
}

/**
 * The budget after Zendesk reported the bucket's `total`: tightened at once when it is lower than
 * the setting (a plan without the High Volume add-on, or a lower limit than configured).
 */
export function tightenBudget(budget: RateBudget, reportedTotal: number | undefined): RateBudget {
  if (reportedTotal === undefined || reportedTotal <= 0 || reportedTotal >= budget.requests) return budget;
  return { requests: reportedTotal, seconds: budget.seconds };
}

/** The pace under a tightened budget: the share scaled down with it, so the export slows before the coordinator answers. */
export function tightenPace(pace: PaceState, reportedTotal: number | undefined): PaceState {
  const budget = tightenBudget(pace.budget, reportedTotal);
  if (budget === pace.budget) return pace;
  const share = pace.share <= 0 ? 0 : Math.max(1, Math.floor((pace.share * budget.requests) / pace.budget.requests));
  return { ...pace, share, budget, sent: mergeSends(pace.sent, [], share) };
}

/**
 * Integer shares of `requests` among members in the order they joined, adding up to `requests`
 * (10 among 3 gives 4, 3, 3). With fewer requests than members, the first ones get one each and the
 * rest 0: they wait their turn rather than push the account past its budget.
 */
export function divideBudget(requests: number, members: readonly string[]): Record<string, number> {
  const n = members.length;
  const base = n ? Math.floor(requests / n) : 0;
  const extra = requests - base * n;
  return Object.fromEntries(members.map((m, i) => [m, base + (i < extra ? 1 : 0)]));
}
