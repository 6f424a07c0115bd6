/**
 * Where a batch of pages stands in the task queue every account's batches share. Each account is its
 * own fairness key, so the server hands out batches account by account in turn: an account with many exports
 * backfilling at once, or thousands of accounts behind a busy worker, do not push one account's batches
 * back by more than its turn. A follow poll (the export has caught up once) goes ahead of backfill
 * batches: it is due now and finds a handful of records, while a backfill loses nothing by starting a
 * moment later. Needs the server's fairness on (`matching.enableFairness`, docs/deployment.md);
 * without it the server orders by priority alone. Pure.
 */
import type { ActivityOptions } from '@temporalio/workflow';

/** Priority keys: lower goes first. The server's default levels are 1 to 5, unset being 3. */
export const BATCH_PRIORITY = { follow: 1, backfill: 3 } as const;

/** A batch's priority: its account's turn, a follow poll first. Account names are at most 63 bytes, within the server's 64. */
export function batchPriority(account: string, following: boolean): NonNullable<ActivityOptions['priority']> {
  return { priorityKey: following ? BATCH_PRIORITY.follow : BATCH_PRIORITY.backfill, fairnessKey: account };
}
