/**
 * The page activity's contract: what the workflow asks of it, what it answers, and the failure types
 * it ends with. Pure: workflow code imports it. Never credentials, never records.
 */
import type { EndpointId, Resource } from '../zendesk/endpoints';
import type { ZendeskErrorType } from '../zendesk/errors';
import type { PageOptions, RateLimitState } from '../zendesk/page';
import type { ExportPosition } from '../zendesk/paging';

/**
 * Where an export's pages go, as a client names it. The worker decides what each name means: NDJSON
 * folders lie inside its output root, Postgres targets are named in its configuration. A client never
 * names a host that would receive PGPASSWORD, nor a path outside the root.
 */
export type DestinationRef =
  /** A folder inside the worker's output root: relative to it, or absolute within it. */
  | { kind: 'ndjson'; dir: string }
  /** A Postgres target the worker's configuration names (`default`: ZENDESK_EXPORT_POSTGRES). */
  | { kind: 'postgres'; target: string };

/** What an export is, for the activity: fixed for the export's whole life. */
export interface ExportTarget {
  /** The Zendesk account: its subdomain. The worker maps it to a base URL and credentials. */
  account: string;
  resource: Resource;
  /** Sideloads, deleted tickets, support type scope. The page size lives in the position. */
  options: Omit<PageOptions, 'perPage'>;
  destination: DestinationRef;
  /** The export's workflow ID. */
  exportId: string;
  /** Names this export's pages for good: `<start stamp>-<first endpoint>`, sortable by start. */
  origin: string;
}

/**
 * A run starts no request later than this after it was first scheduled, retries included: so a pause
 * or a smaller share takes effect soon, and the account's budget can count on a run's requests having
 * left by then.
 */
export const RUN_SENDING_MS = 10_000;

export interface FetchPagesInput {
  target: ExportTarget;
  at: ExportPosition;
  /** The number of the first page this call writes: pages written so far, plus one. */
  firstPage: number;
  /** Requests the rate budget allows now (at least 1); failed requests count too. */
  maxRequests: number;
  /**
   * More requests, each when a slot of the budget frees: ms after the run began, ascending, each at
   * most RUN_SENDING_MS. Optional, so a worker of an earlier version makes only `maxRequests`.
   */
  laterMs?: number[];
  /**
   * Resume from the destination's checkpoint of this run (`firstPage`), as a retried attempt does: set
   * when the workflow refused the result of the same run (a result no worker made).
   */
  resume?: boolean;
}

/** Every request a run may make: those allowed now and those at later slots. */
export function runRequests(input: Pick<FetchPagesInput, 'maxRequests' | 'laterMs'>): number {
  return input.maxRequests + (input.laterMs?.length ?? 0);
}

/** Why a run of pages ended. */
export type PagesStop =
  /** The requests allowed were spent, or the run's time was up: more pages wait for the next run. */
  | 'budget'
  | 'end-of-stream'
  /** 422 "Too recent start_time": caught up, like end_of_stream. */
  | 'caught-up'
  /** 429: wait `retryAfter`, then go on. */
  | 'rate-limited'
  /**
   * A request failed in a way asking again may mend (5xx, a dropped connection, a full disk, an answer
   * that was not Zendesk's): the workflow backs off on its own timer, paced like any request, and
   * gives up after a day (or a few attempts, for answers that are not Zendesk's).
   */
  | 'failed'
  /** Asked to stop (a pause, a cancel, the worker shutting down): the page in flight was finished. */
  | 'cancelled';

export interface FetchPagesResult {
  /** Where the export stands after the last page written. */
  at: ExportPosition;
  pages: number;
  /** Records written, after dropping boundary repeats. */
  written: number;
  repeats: number;
  sideloaded: number;
  /** How long before this result each request left (failed ones too), oldest first: the workflow places them on its own clock. */
  sentAgoMs: number[];
  stop: PagesStop;
  /** With `rate-limited`: how long Zendesk asked to wait (capped at an hour; `capped` says it asked for more). */
  retryAfter?: { seconds: number; capped: boolean };
  /** The rate-limit headers of the last answer. */
  rateLimit?: RateLimitState;
  /** With `failed`: what went wrong. */
  failure?: { type: FailureType; message: string };
  /** Things the user should know: a switch of endpoint, a bigger page size. */
  notes: string[];
  /** The worker's HMAC over the request and this result (activities/seal.ts): a result without a good one is refused. */
  seal?: string;
}

/** Progress of a run, kept in heartbeat details: a retried run resumes here instead of from its first page. */
export interface PagesProgress {
  at: ExportPosition;
  pages: number;
  written: number;
  repeats: number;
  sideloaded: number;
  /** Send times (epoch ms, this worker's clock) of every request made so far. */
  sentAt: number[];
  notes: string[];
}

/**
 * A run's progress as its destination keeps it, beside the page it belongs to: a retried run resumes
 * from the later of this and its heartbeat, so a killed worker costs at most the page in flight.
 */
export interface RunCheckpoint extends PagesProgress {
  exportId: string;
  origin: string;
  /** The run's first page: a checkpoint of another run is not this run's. */
  firstPage: number;
}

/** Every failure type an export can end with. The workflow's retry policy and the CLI name them from here. */
export const FAILURE = {
  destination: 'DestinationError',
  destinationConfig: 'DestinationConfigError',
  record: 'DestinationRecordError',
  stuck: 'ExportStuckError',
  invalidInput: 'InvalidExportInput',
  /** A run's result or failure that no worker of this deployment made, or that does not fit its request: the run is asked again. */
  refused: 'RefusedRunResult',
  unexpected: 'UnexpectedError',
} as const;
export type FailureType = ZendeskErrorType | (typeof FAILURE)[keyof typeof FAILURE];

/** Failures that retrying cannot mend: the activity throws them and the export fails at once with their sentence. */
export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  'ZendeskAuthError',
  'ZendeskBadRequestError',
  'ZendeskConfigError',
  'ZendeskAnswerRefusedError',
  FAILURE.destinationConfig,
  FAILURE.record,
  FAILURE.stuck,
  FAILURE.invalidInput,
];

/** The endpoint of a position, for callers that hold only the contract. */
export type { EndpointId, ExportPosition };
