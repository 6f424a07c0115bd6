/**
 * What an export is: its input and the state it carries (JSON-safe: it crosses continue-as-new and
 * queries). Never credentials, never records.
 */
import type { DestinationRef } from '../activities/contract';
import type { EndpointId, RateBucket, RateBudget, Resource } from '../zendesk/endpoints';
import type { PageOptions, Position } from '../zendesk/page';
import type { ExportPosition } from '../zendesk/paging';
import type { AccountBudgetState } from './account-budget';
import type { PaceState } from './pacing';

export type ExportStatus =
  | 'starting'
  | 'running'
  | 'waiting-rate-budget'
  | 'waiting-retry-after'
  | 'retrying'
  | 'paused'
  | 'following'
  | 'completed'
  | 'cancelled'
  | 'failed';

/** Counts and times, for progress. */
export interface ExportProgress {
  /** The start_time the export began from (for an ETA). */
  firstStartTime: number;
  pages: number;
  records: number;
  repeatsDropped: number;
  sideloaded: number;
  rateLimited: number;
  /** Milliseconds spent waiting for rate budget or Retry-After. */
  waitedMs: number;
  startedAt: number;
  updatedAt: number;
  endOfStreamAt?: number;
}

/** Everything an export knows. A query returns it; continue-as-new and resume carry it. */
export interface ExportState {
  /** Where the export stands: the next request, the boundary, the endpoint and page size. */
  at: ExportPosition;
  /** Names this export's pages for good (`<start stamp>-<first endpoint>`), so a resumed run continues them. */
  origin: string;
  pace: PaceState;
  progress: ExportProgress;
  status: ExportStatus;
  paused: boolean;
  /** Things the user should know (a stuck second, a switch of endpoint, a capped wait); the last few. */
  notes: string[];
  /** Requests failing in a row since a page was last written, while the export backs off and asks again. */
  retry?: ExportRetry;
  error?: string;
}

export interface ExportRetry {
  /** When the first of these failures happened (workflow clock). */
  since: number;
  attempts: number;
  type: string;
  message: string;
}

export interface ExportInput {
  /** The Zendesk account: its subdomain. The worker maps it to a base URL and credentials. */
  account: string;
  resource: Resource;
  /** The endpoint the export starts on. */
  endpoint: EndpointId;
  /** Where to begin: a start_time, or a cursor saved from an earlier export. */
  start: Position;
  options?: PageOptions;
  destination: DestinationRef;
  /** The account's budget for this endpoint's bucket. */
  budget: RateBudget;
  /** Requests per budget window this export may use; the whole budget when alone, 0 while queued. */
  share?: number;
  /** Sends (workflow-clock ms) that still count against the share: requests others made lately. */
  initialSends?: number[];
  /** The coordinating workflow of the account, which shares its budget between exports. */
  coordinatorId?: string;
  /** Keep polling after end_of_stream, every this many seconds. */
  followIntervalSeconds?: number;
  /** Stop after this many pages (a sample: one page). */
  maxPages?: number;
  /** Continue as new after this many pages in one run (the server's suggestion also applies). */
  maxPagesPerRun?: number;
  /** Carried across continue-as-new, and into a resumed export. */
  state?: ExportState;
}

export interface ExportResult {
  outcome: 'completed' | 'cancelled';
  state: ExportState;
}

export interface CoordinatorInput {
  account: string;
  /** Carried across continue-as-new. */
  state?: AccountBudgetState;
}

export type { RateBucket, RateBudget };
