/**
 * What an export is: its input and the state it carries, defined in the contract (they cross the
 * trust boundary); and the coordinator's own input. Never credentials, never records.
 */
import type { AccountBudgetState } from './account-budget';

export type { ExportInput, ExportProgress, ExportResult, ExportRetry, ExportState, ExportStatus, RateBucket, RateBudget } from '../contract/export';

export interface CoordinatorInput {
  account: string;
  /** Carried across continue-as-new. */
  state?: AccountBudgetState;
  /** The sequence number of the last share handed out (contract/share.ts); carried across continue-as-new. */
  shareSeq?: number;
}
