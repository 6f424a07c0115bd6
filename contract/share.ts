/**
 * A share as the coordinator hands it to an export. Signals cannot name their sender, so a `setShare`
 * counts only with the worker's seal over the whole grant (activities/seal.ts): the export it is for,
 * the share, the budget, the sends, and a sequence number. The number orders an account's grants, so a
 * grant copied from history (every client can read it) is older than the one the export holds and is
 * refused. Pure.
 */
import { isWhole, problem, type Problem } from './problem';
import { checkBudget, checkSends, type RateBudget } from './export';

export interface ShareGrant {
  exportId: string;
  share: number;
  budget: RateBudget;
  sends: number[];
  /** Higher than every earlier grant of the account, and never behind its coordinator's clock. */
  seq: number;
}

/**
 * How far ahead of its clock a coordinator's sequence may run (one grant a millisecond keeps it level,
 * a burst in one workflow task runs ahead by its size); a carried sequence further ahead is refused.
 */
export const MAX_SHARE_SEQ_LEAD_MS = 5 * 60_000;

/** The grant with its fields in the order the seal covers them. */
export function shareGrant(exportId: string, share: number, budget: RateBudget, sends: readonly number[], seq: number): ShareGrant {
  return { exportId, share, budget: { requests: budget.requests, seconds: budget.seconds }, sends: [...sends], seq };
}

/**
 * The sequence number of a coordinator's next grant: after its last one, and at least its clock (ms),
 * so that a coordinator started after another closed numbers its grants after the other's.
 */
export function nextShareSeq(last: number, now: number): number {
  return Math.max(last + 1, Math.floor(now));
}

/** A setShare's share, budget and sends, as any client may send them. */
export function checkShareMessage(share: unknown, budget: unknown, sends: unknown): Problem | undefined {
  if (!isWhole(share, 0, Number.MAX_SAFE_INTEGER)) return problem('share', 'is not a number of requests');
  return checkBudget(budget) ?? checkSends(sends, 'sends');
}

/** A carried or handed-on sequence number, within `MAX_SHARE_SEQ_LEAD_MS` of `now`. */
export function checkShareSeq(seq: unknown, field: string, now = Infinity): Problem | undefined {
  return seq === undefined || isWhole(seq, 0, Math.min(now + MAX_SHARE_SEQ_LEAD_MS, Number.MAX_SAFE_INTEGER - 1))
    ? undefined
    : problem(field, 'is not a sequence number of shares (at most a few minutes ahead of the clock)');
}

