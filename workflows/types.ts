/**
 * What an export is: its input, the state it carries (JSON-safe: it crosses continue-as-new and
 * queries), and what the fetch-page activity takes and returns. Never credentials, never records.
 */
import type { Boundary } from '../zendesk/boundary';
import type { Release } from './pacing';
import type { EndpointId, RateBucket, RateBudget, Resource } from '../zendesk/endpoints';
import type { PageOptions, Position, RateLimitState } from '../zendesk/page';

/** Where pages go. A Postgres URL carries no password: the worker supplies it (PGPASSWORD). */
export type Destination = { kind: 'ndjson'; dir: string } | { kind: 'postgres'; url: string };

export type ExportStatus =
  | 'starting'
  | 'running'
  | 'waiting-rate-budget'
  | 'waiting-retry-after'
  | 'paused'
  | 'following'
  | 'completed'
  | 'cancelled'
  | 'failed';

/** Everything an export knows about its progress. A query returns it; continue-as-new carries it. */
export interface ExportState {
  endpoint: EndpointId;
  position: Position;
  /** The first start of this export (names its output files, so resumed runs overwrite, never add). */
  origin: number;
  status: ExportStatus;
  paused: boolean;
  pages: number;
  records: number;
  repeatsDropped: number;
  rateLimited: number;
  /** Milliseconds spent waiting for rate budget or Retry-After. */
  waitedMs: number;
  boundary: Boundary;
  /** Send times (workflow-clock epoch ms) of the requests inside the current rate window. */
  sent: number[];
  /** No request before this time (epoch ms): a Retry-After, or a bucket header saying it is empty. */
  notBefore: number;
  /** Requests per budget window this export may use (its share of the account's budget). */
  share: number;
  budget: RateBudget;
  perPage?: number;
  startedAt: number;
  updatedAt: number;
  endOfStreamAt?: number;
  /** Things the user should know (a stuck second, a switch of endpoint). */
  notes: string[];
  error?: string;
}

export interface ExportInput {
  /** The Zendesk account: its subdomain. The worker maps it to a base URL and credentials. */
  account: string;
  resource: Resource;
  endpoint: EndpointId;
  /** Where to begin: a start_time, or a cursor saved from an earlier export. */
  start: Position;
  options?: PageOptions;
  destination: Destination;
  /** The account's budget for this endpoint's bucket. */
  budget: RateBudget;
  /** Requests per budget window this export may use; the whole budget when alone. */
  share?: number;
  /** Sends (workflow-clock ms) that still count against the share: requests another export gave up lately. */
  initialSends?: number[];
  /** The coordinating workflow of the account, which shares its budget between exports. */
  coordinatorId?: string;
  /** Keep polling after end_of_stream, every this many seconds. */
  followIntervalSeconds?: number;
  /** Continue as new after this many pages in one run (the server's suggestion also applies). */
  maxPagesPerRun?: number;
  /** Carried across continue-as-new, and into a resumed export. */
  state?: ExportState;
}

export interface ExportResult {
  outcome: 'completed' | 'cancelled';
  state: ExportState;
}

export interface FetchPageInput {
  account: string;
  resource: Resource;
  endpoint: EndpointId;
  position: Position;
  options: PageOptions;
  destination: Destination;
  /** Names the output: `<endpoint>-<origin>-<pageNumber>`; a retry of the page overwrites it. */
  origin: number;
  pageNumber: number;
  boundary: Boundary;
  exportId: string;
}

export type FetchPageResult = (
  | {
      kind: 'page';
      next: Position;
      endOfStream: boolean;
      /** Records written (after dropping boundary repeats). */
      written: number;
      repeats: number;
      sideloaded: number;
      boundary: Boundary;
      rateLimit: RateLimitState;
      sinceSentMs: number;
    }
  | { kind: 'rate-limited'; retryAfterSeconds: number; rateLimit: RateLimitState; sinceSentMs: number }
  | { kind: 'caught-up'; sinceSentMs: number }
) & {
  /** Attempts of this page that failed before this one: each may have spent a request. */
  earlierAttempts?: number;
};

export interface CoordinatorMember {
  bucket: RateBucket;
  share: number;
}

export interface CoordinatorInput {
  account: string;
  /** Budgets per bucket, as set by the user or tightened by Zendesk's headers. */
  budgets: Partial<Record<RateBucket, RateBudget>>;
  /** Running exports by workflow ID (carried across continue-as-new). */
  members?: Record<string, CoordinatorMember>;
  /** Requests given up within the last window, per bucket. */
  released?: Partial<Record<RateBucket, Release[]>>;
}
