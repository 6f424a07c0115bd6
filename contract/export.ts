/**
 * An export as it crosses the trust boundary: the input any Temporal client may start one with, the
 * state it carries (continue-as-new, queries, memo), and one validator for each. Any client of the
 * namespace can start an export or send it a message, so the worker checks with these before it uses
 * anything, and this project's client checks with the same ones before it sends. Pure.
 */
import { isAccountName, printable } from '../zendesk/account';
import { endpointSpec, isEndpointId, isRateBucket, isResource, isSupportTypeScope, type EndpointId, type RateBucket, type RateBudget, type Resource } from '../zendesk/endpoints';
import type { PageOptions, Position } from '../zendesk/page';
import type { ExportPosition } from '../zendesk/paging';
import { checkCoordinatorState, checkExportState } from './carried-state';
import { withCounts, type PageCounts } from './counts';
import { coordinatorWorkflowId, exportWorkflowId } from './ids';
import { isCursor, MAX_BOUNDARY_KEYS, MAX_BUDGET_REQUESTS, MAX_BUDGET_SECONDS, MAX_FOLLOW_SECONDS, MAX_PAGES_PER_RUN, MAX_PATH_LENGTH } from './limits';
import { isPlainObject, isTimes, isWhole, problem, type Problem } from './problem';
import { checkShareSeq } from './share';

/**
 * Where an export's pages go, as a client names it. The worker decides what each name means: NDJSON
 * folders lie inside its output root, Postgres and S3 targets are named in its configuration. A client
 * never names a host that would receive PGPASSWORD or the AWS credentials, nor a path outside the root.
 */
export type DestinationRef =
  /** A folder inside the worker's output root: relative to it, or absolute within it. */
  | { kind: 'ndjson'; dir: string }
  /** A Postgres target the worker's configuration names (`default`: ZENDESK_EXPORT_POSTGRES). */
  | { kind: 'postgres'; target: string }
  /** An S3 bucket and prefix the worker's configuration names (`default`: ZENDESK_EXPORT_S3). */
  | { kind: 's3'; target: string };

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
  /**
   * The sequence number of the share this input carries (contract/share.ts). Set by a coordinator that
   * seals its shares: the export then takes only later sealed ones. Carried across continue-as-new.
   */
  shareSeq?: number;
  /** The coordinating workflow of the account, which shares its budget between exports. */
  coordinatorId?: string;
  /** Keep polling after end_of_stream, every this many seconds. */
  followIntervalSeconds?: number;
  /** Stop after this many pages (a sample: one page). */
  maxPages?: number;
  /** Continue as new after this many pages in one workflow run (the server's suggestion also applies). */
  maxPagesPerRun?: number;
  /** Carried across continue-as-new, and into a resumed export. */
  state?: ExportState;
}

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
  | 'failed'
  /** Failed because the account's OAuth grant is lost: an admin must connect the account again. */
  | 'needs-reauthorization';

/** Counts and times, for progress. */
export interface ExportProgress extends PageCounts {
  /** The start_time the export began from (for an ETA). */
  firstStartTime: number;
  rateLimited: number;
  /** Milliseconds spent waiting for rate budget or Retry-After. */
  waitedMs: number;
  startedAt: number;
  updatedAt: number;
  endOfStreamAt?: number;
}

/** An export's pace: the rate budget on workflow time (rules in workflows/pacing.ts). */
export interface PaceState {
  /** Send times (epoch ms, workflow clock) of the requests still inside the window, oldest first. */
  sent: number[];
  /** No request before this time (epoch ms): a Retry-After, or a bucket header saying it is empty. */
  notBefore: number;
  /** Requests per window this export may use: its share of the account's budget (0: queued). */
  share: number;
  budget: RateBudget;
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

export interface ExportResult {
  outcome: 'completed' | 'cancelled';
  state: ExportState;
}

const TARGET_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
/** An export's stamp: `<start stamp>-<first endpoint>`. */
export const ORIGIN = /^\d{8}T\d{6}\.\d{3}Z-[a-z_]{1,40}$/;

/** The account's name: a Zendesk subdomain, never anything that could change a URL or a path. */
export function checkAccount(account: unknown, field = 'account'): Problem | undefined {
  return isAccountName(account) ? undefined : problem(field, `"${printable(account)}" is not a Zendesk subdomain (lower-case letters, digits and hyphens)`);
}

export function checkDestination(destination: unknown): Problem | undefined {
  if (!isPlainObject(destination)) return problem('destination', 'is missing');
  if (destination.kind === 'ndjson') {
    const dir = destination.dir;
    if (typeof dir !== 'string' || !dir || dir.length > MAX_PATH_LENGTH || dir.includes('\0')) return problem('destination.dir', `is not a folder name (at most ${MAX_PATH_LENGTH} characters, no NUL)`);
    return undefined;
  }
  if (destination.kind === 'postgres' || destination.kind === 's3') {
    if (destination.target === undefined) return problem('destination.target', 'is missing');
    return typeof destination.target === 'string' && TARGET_NAME.test(destination.target)
      ? undefined
      : problem('destination.target', `"${printable(destination.target)}" is not a${destination.kind === 's3' ? 'n S3' : ' Postgres'} target name (lower-case letters, digits, "_" and "-")`);
  }
  return problem('destination.kind', `"${printable(destination.kind)}" is not ndjson, postgres or s3`);
}

/** A page size the endpoint takes. */
function checkPerPage(perPage: unknown, endpoint: EndpointId, field: string): Problem | undefined {
  if (perPage === undefined) return undefined;
  const spec = endpointSpec(endpoint);
  if (!(spec.params as readonly string[]).includes('per_page')) return problem(field, `is given, but the ${endpoint} endpoint takes no page size`);
  return isWhole(perPage, 1, spec.maxPerPage) ? undefined : problem(field, `is not a page size from 1 to ${spec.maxPerPage}`);
}

/** A position an export may stand at, on an endpoint that exports `resource`. */
export function checkPosition(at: unknown, resource: Resource, field = 'position'): Problem | undefined {
  if (!isPlainObject(at)) return problem(field, 'is missing');
  if (!isEndpointId(at.endpoint)) return problem(`${field}.endpoint`, `"${printable(at.endpoint)}" is not one of the seven endpoints`);
  const endpoint = endpointSpec(at.endpoint);
  if (!(endpoint.resources as readonly string[]).includes(resource)) return problem(`${field}.endpoint`, `${endpoint.id} does not export ${resource}`);
  const next = at.next;
  if (!isPlainObject(next) || next.kind !== endpoint.paging) return problem(`${field}.next`, `is not a ${endpoint.paging} position (${endpoint.id} is ${endpoint.paging}-based)`);
  if (!isWhole(next.startTime, 0, 1e11)) return problem(`${field}.next.startTime`, 'is not a Unix time in seconds');
  if (next.kind === 'cursor' && next.cursor !== null && !isCursor(next.cursor)) {
    return problem(`${field}.next.cursor`, 'is not a cursor Zendesk hands out (copy after_cursor as it is)');
  }
  const boundary = at.boundary;
  if (!isPlainObject(boundary) || !Number.isSafeInteger(boundary.second) || (boundary.second as number) < -1) return problem(`${field}.boundary`, 'is not a boundary');
  if (!Array.isArray(boundary.keys) || boundary.keys.length > MAX_BOUNDARY_KEYS || boundary.keys.some((k) => typeof k !== 'string' || k.length > 100)) {
    return problem(`${field}.boundary.keys`, 'is not a list of record versions');
  }
  return checkPerPage(at.perPage, endpoint.id, `${field}.perPage`);
}

/** Sideloads, deleted tickets, support type scope and page size, as the endpoint takes them. */
export function checkOptions(options: unknown, endpoint: EndpointId, field = 'options'): Problem | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) return problem(field, 'is not an object');
  const spec = endpointSpec(endpoint);
  if (options.include !== undefined) {
    const known = Object.keys(spec.sideloads);
    const unknown = Array.isArray(options.include) ? options.include.find((s) => typeof s !== 'string' || !Object.hasOwn(spec.sideloads, s)) : options.include;
    if (unknown !== undefined) {
      return problem(`${field}.include`, `names a sideload the ${endpoint} endpoint does not have ("${printable(unknown)}")` + (known.length ? `; choose from: ${known.join(', ')}` : '; it takes none'));
    }
  }
  if (options.excludeDeleted !== undefined) {
    if (typeof options.excludeDeleted !== 'boolean') return problem(`${field}.excludeDeleted`, 'is not true or false');
    if (options.excludeDeleted && !(spec.params as readonly string[]).includes('exclude_deleted')) return problem(`${field}.excludeDeleted`, `applies to ticket exports only, not ${endpoint}`);
  }
  if (options.supportTypeScope !== undefined && !isSupportTypeScope(options.supportTypeScope)) {
    return problem(`${field}.supportTypeScope`, `"${printable(options.supportTypeScope)}" is not all, agent or ai_agent`);
  }
  return checkPerPage(options.perPage, endpoint, `${field}.perPage`);
}

export function checkBudget(budget: unknown, field = 'budget'): Problem | undefined {
  if (!isPlainObject(budget)) return problem(field, 'is missing');
  if (Object.keys(budget).some((k) => k !== 'requests' && k !== 'seconds')) return problem(field, 'has fields a budget does not have');
  if (!isWhole(budget.requests, 1, MAX_BUDGET_REQUESTS)) return problem(`${field}.requests`, `is not a number of requests from 1 to ${MAX_BUDGET_REQUESTS}`);
  if (!isWhole(budget.seconds, 1, MAX_BUDGET_SECONDS)) return problem(`${field}.seconds`, `is not a number of seconds from 1 to ${MAX_BUDGET_SECONDS}`);
  return undefined;
}

/** Send times a message or an input hands over (bounded: they only matter within one window). */
export function checkSends(sends: unknown, field: string): Problem | undefined {
  return sends === undefined || isTimes(sends, MAX_BUDGET_REQUESTS) ? undefined : problem(field, 'is not a list of send times');
}

/** A bucket named in a message. */
export function checkBucket(bucket: unknown): Problem | undefined {
  return typeof bucket === 'string' && isRateBucket(bucket) ? undefined : problem('bucket', `"${printable(bucket)}" is not a rate bucket`);
}

/** A new budget for a bucket of an account (`zendesk-export budget`). */
export function checkBudgetChange(bucket: unknown, budget: unknown): Problem | undefined {
  return checkBucket(bucket) ?? checkBudget(budget);
}

const whole = (value: unknown, field: string, min: number, max: number, what: string): Problem | undefined =>
  value === undefined || isWhole(value, min, max) ? undefined : problem(field, `is not ${what}`);

/**
 * The whole input of an export. With `workflowId`, the ID it is to run under: an export only runs
 * under the ID its input names, so one account's export can never pass for another's.
 */
export function checkExportInput(input: unknown, workflowId?: string, now = Infinity): Problem | undefined {
  if (!isPlainObject(input)) return problem('', 'the input is missing');
  const accountProblem = checkAccount(input.account);
  if (accountProblem) return accountProblem;
  if (!isResource(input.resource)) return problem('resource', `"${printable(input.resource)}" is not tickets, users, organizations or ticket_events`);
  if (!isEndpointId(input.endpoint)) return problem('endpoint', `"${printable(input.endpoint)}" is not one of the seven endpoints`);
  if (!(endpointSpec(input.endpoint).resources as readonly string[]).includes(input.resource)) return problem('endpoint', `${input.endpoint} does not export ${input.resource}`);
  const expectedId = exportWorkflowId(input.account as string, input.resource, input.endpoint);
  if (workflowId !== undefined && workflowId !== expectedId) return problem('', `the workflow ID ${printable(workflowId)} is not the ID of this export (${expectedId})`);
  return (
    checkPosition({ endpoint: input.endpoint, next: input.start, boundary: { second: -1, keys: [] } }, input.resource, 'start') ??
    checkOptions(input.options, input.endpoint) ??
    checkDestination(input.destination) ??
    checkBudget(input.budget) ??
    whole(input.share, 'share', 0, MAX_BUDGET_REQUESTS, 'a number of requests') ??
    checkSends(input.initialSends, 'initialSends') ??
    checkShareSeq(input.shareSeq, 'shareSeq') ??
    (input.coordinatorId === undefined || input.coordinatorId === coordinatorWorkflowId(input.account as string)
      ? undefined
      : problem('coordinatorId', `is not the coordinator of account ${input.account as string}`)) ??
    whole(input.followIntervalSeconds, 'followIntervalSeconds', 1, MAX_FOLLOW_SECONDS, `a number of seconds from 1 to ${MAX_FOLLOW_SECONDS}`) ??
    whole(input.maxPages, 'maxPages', 1, Number.MAX_SAFE_INTEGER, 'a number of pages (at least 1)') ??
    whole(input.maxPagesPerRun, 'maxPagesPerRun', 1, MAX_PAGES_PER_RUN, `a number of pages from 1 to ${MAX_PAGES_PER_RUN}`) ??
    checkExportState(input.state, { resource: input.resource, endpoint: input.endpoint }, now)
  );
}

/** The input with the counts it carries under their current names (a 0.2.1 export carries `repeatsDropped`). */
export function withCurrentCounts(input: ExportInput): ExportInput {
  return input.state ? { ...input, state: { ...input.state, progress: withCounts(input.state.progress) } } : input;
}

/**
 * An export asked of an account's coordinator: well-formed, of that account, not yet sharing its budget.
 * `now`: the coordinator's clock, so that a carried state the export would refuse is refused before the
 * export takes a share (it would fail at once, its share held until the coordinator notices).
 */
export function checkExportRequest(input: unknown, account: string, now = Infinity): Problem | undefined {
  if (isPlainObject(input) && isAccountName(input.account) && input.account !== account) return problem('account', `${input.account} is another account; ${account}'s coordinator starts only its exports`);
  // The coordinator sets the share, the sends, their sequence and itself as coordinator, whatever the request said.
  return checkExportInput(isPlainObject(input) ? { ...input, coordinatorId: undefined, shareSeq: undefined } : input, undefined, now);
}

/** A coordinator's input: its account, under its own workflow ID. */
export function checkCoordinatorInput(input: unknown, workflowId: string, now = Infinity): Problem | undefined {
  if (!isPlainObject(input)) return problem('', 'the input is missing');
  const accountProblem = checkAccount(input.account);
  if (accountProblem) return accountProblem;
  if (workflowId !== coordinatorWorkflowId(input.account as string)) return problem('', `the workflow ID ${printable(workflowId)} is not the coordinator of account ${input.account as string}`);
  return checkShareSeq(input.shareSeq, 'shareSeq', now) ?? checkCoordinatorState(input.state, input.account as string, now);
}

export type { RateBucket, RateBudget };
