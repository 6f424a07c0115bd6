/**
 * The page activity's contract: what the workflow asks of it, what it answers, the failure types it
 * ends with, and the validators of what it is handed (any client of the namespace can heartbeat or
 * complete an activity, and a checkpoint file is read back from disk). Pure: workflow code imports it.
 * Never credentials, never records.
 */
import { printable } from '../zendesk/account';
import { isResource, type EndpointId, type Resource } from '../zendesk/endpoints';
import type { ZendeskErrorType } from '../zendesk/errors';
import type { PageOptions, RateLimitState } from '../zendesk/page';
import type { ExportPosition } from '../zendesk/paging';
import { countsOf, isCounts, type PageCounts } from './counts';
import { checkAccount, checkDestination, checkOptions, checkPosition, ORIGIN, type DestinationRef } from './export';
import { MAX_REQUESTS_PER_BATCH, MAX_WORKFLOW_ID_LENGTH, BATCH_SENDING_MS, FOLLOW_BATCH_MS, ROUNDS_BATCH_MS } from './limits';
import { isPlainObject, isWhole, problem, type Problem } from './problem';

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

export interface BatchInput {
  target: ExportTarget;
  at: ExportPosition;
  /** The number of the first page this call writes: pages written so far, plus one. */
  firstPage: number;
  /** Requests the rate budget allows now (at least 1); failed requests count too. */
  maxRequests: number;
  /**
   * More requests, each when a slot of the budget frees: ms after the batch began, ascending, each at
   * most BATCH_SENDING_MS. Optional, so a worker of an earlier version makes only `maxRequests`.
   */
  laterMs?: number[];
  /**
   * Follow polls: ms after the batch began, ascending, at least BATCH_SENDING_MS apart, at most
   * FOLLOW_BATCH_MS; never with `laterMs`. A batch whose stream ended rests until each and asks once
   * more, so a caught-up export pays one workflow round trip an hour instead of one a poll. A poll
   * that finds more than a page ends the batch, and the workflow paces the rest.
   */
  pollsMs?: number[];
  /**
   * Rounds in the budget's next windows: after its first round (`maxRequests`, then `laterMs`), the
   * batch makes as many requests again, `count` times, each `everyMs` after the answer to the same
   * request of the round before, so no window holds more than a round. It rests silently between
   * rounds and heartbeats once before each, so a backfill held to its budget pays one workflow round
   * trip for several windows instead of one each. Never with `pollsMs`; within ROUNDS_BATCH_MS.
   * Optional, so a worker of an earlier version makes the first round only.
   */
  rounds?: { count: number; everyMs: number };
  /**
   * The export's first workflow run (`workflowInfo().firstExecutionRunId`, named by the server): with the
   * workflow ID from the activity's context, the owner of the export's files. Absent in batches a 0.2.1
   * worker scheduled.
   */
  firstRunId?: string;
  /**
   * Resume from the destination's checkpoint of this batch (`firstPage`), as a retried attempt does: set
   * when the workflow refused the result of the same batch (a result no worker made).
   */
  resume?: boolean;
}

type Slots = Pick<BatchInput, 'maxRequests' | 'laterMs' | 'pollsMs' | 'rounds'>;

/** The requests of a batch's first round: those allowed now and those at later slots. */
export function firstRound(input: Slots): number {
  return input.maxRequests + (input.laterMs?.length ?? 0);
}

/** Every request a batch may make: its first round, the rounds after it, and its follow polls. */
export function batchRequests(input: Slots): number {
  return firstRound(input) * (1 + (input.rounds?.count ?? 0)) + (input.pollsMs?.length ?? 0);
}

/**
 * When each of a batch's requests may leave: `ms` after the batch began, or, in a round after the
 * first, `everyMs` after the answer to request `after`. `rests`: the batch waits for it silently,
 * heartbeating just before (a follow poll, a round's request).
 */
export type RequestSlot = { ms: number; poll: boolean; rests: boolean } | { after: number; everyMs: number; poll: false; rests: true };

export function requestSlot(input: Slots, index: number): RequestSlot {
  const later = input.laterMs ?? [];
  const round = firstRound(input);
  if (index < input.maxRequests) return { ms: 0, poll: false, rests: false };
  if (index < round) return { ms: later[index - input.maxRequests]!, poll: false, rests: false };
  if (input.rounds) return { after: index - round, everyMs: input.rounds.everyMs, poll: false, rests: true };
  return { ms: input.pollsMs![index - round]!, poll: true, rests: true };
}

/** Why a batch ended. */
export type BatchStop =
  /** The requests allowed were spent, or the batch's time was up: more pages wait for the next batch. */
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
  /** Asked to stop (a pause, a cancel, the worker shutting down): a page being written was finished, a request still unanswered abandoned. */
  | 'cancelled';

export interface BatchResult extends PageCounts {
  /** Where the export stands after the last page written. */
  at: ExportPosition;
  /** How long before this result each request left (failed ones too), oldest first: the workflow places them on its own clock. */
  sentAgoMs: number[];
  stop: BatchStop;
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

/** Progress of a batch, kept in heartbeat details: a retried batch resumes here instead of from its first page. */
export interface BatchProgress extends PageCounts {
  at: ExportPosition;
  /** Send times (epoch ms, this worker's clock) of every request made so far. */
  sentAt: number[];
  notes: string[];
}

/**
 * A batch's progress as its destination keeps it, beside the page it belongs to: a retried batch resumes
 * from the later of this and its heartbeat, so a killed worker costs at most the page in flight.
 */
export interface BatchCheckpoint extends BatchProgress {
  exportId: string;
  origin: string;
  /** The batch's first page: a checkpoint of another batch is not this batch's. */
  firstPage: number;
}

/** Every failure type an export can end with. The workflow's retry policy and the CLI name them from here. */
export const FAILURE = {
  destination: 'DestinationError',
  destinationConfig: 'DestinationConfigError',
  record: 'DestinationRecordError',
  stuck: 'ExportStuckError',
  invalidInput: 'InvalidExportInput',
  /** A batch's result or failure that no worker of this deployment made, or that does not fit its request: the batch is asked again. */
  refused: 'RefusedBatchResult',
  unexpected: 'UnexpectedError',
} as const;
export type FailureType = ZendeskErrorType | (typeof FAILURE)[keyof typeof FAILURE];

/** The failure of an export whose account's OAuth grant is lost: its status is `needs-reauthorization`, which the Temporal UI can filter on. */
export const REAUTHORIZATION_FAILURE: FailureType = 'ZendeskReauthorizationError';

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

export function checkTarget(target: unknown, endpoint: EndpointId): Problem | undefined {
  if (!isPlainObject(target)) return problem('target', 'is missing');
  if (!isResource(target.resource)) return problem('target.resource', `"${printable(target.resource)}" is not tickets, users, organizations or ticket_events`);
  return (
    checkAccount(target.account, 'target.account') ??
    checkOptions(target.options, endpoint, 'target.options') ??
    checkDestination(target.destination) ??
    (typeof target.exportId === 'string' && target.exportId.length <= MAX_WORKFLOW_ID_LENGTH ? undefined : problem('target.exportId', 'is not a workflow ID')) ??
    (typeof target.origin === 'string' && ORIGIN.test(target.origin) ? undefined : problem('target.origin', 'is not an export stamp'))
  );
}

/** The whole activity input. */
export function checkBatchInput(input: unknown): Problem | undefined {
  if (!isPlainObject(input)) return problem('', 'the input is missing');
  const at = input.at as ExportPosition | undefined;
  const target = input.target;
  const resource = isPlainObject(target) && isResource(target.resource) ? target.resource : undefined;
  if (!resource) return checkTarget(target, 'tickets_time');
  return (
    checkPosition(at, resource, 'at') ??
    checkTarget(target, at!.endpoint) ??
    (isWhole(input.firstPage, 1, Number.MAX_SAFE_INTEGER) ? undefined : problem('firstPage', 'is not a page number')) ??
    (isWhole(input.maxRequests, 1, MAX_REQUESTS_PER_BATCH) ? undefined : problem('maxRequests', `is not a number of requests from 1 to ${MAX_REQUESTS_PER_BATCH}`)) ??
    checkLaterSlots(input.laterMs, MAX_REQUESTS_PER_BATCH - (input.maxRequests as number)) ??
    checkPolls(input.pollsMs, MAX_REQUESTS_PER_BATCH - (input.maxRequests as number), input.laterMs !== undefined) ??
    checkRounds(input.rounds, input as unknown as Slots) ??
    (input.firstRunId === undefined || (typeof input.firstRunId === 'string' && /^[\w-]{1,100}$/.test(input.firstRunId)) ? undefined : problem('firstRunId', 'is not a batch ID')) ??
    (input.resume === undefined || typeof input.resume === 'boolean' ? undefined : problem('resume', 'is not true or false'))
  );
}

/** A batch's later requests: absent, or ascending whole milliseconds within the batch's sending time, no more than a batch may make. */
function checkLaterSlots(later: unknown, room: number): Problem | undefined {
  if (later === undefined) return undefined;
  const fits = Array.isArray(later) && later.length <= room && later.every((ms, i) => isWhole(ms, 0, BATCH_SENDING_MS) && (i === 0 || ms >= later[i - 1]));
  return fits ? undefined : problem('laterMs', `is not an ascending list of at most ${room} waits of 0 to ${BATCH_SENDING_MS} ms`);
}

/** A batch's follow polls: absent, or ascending whole milliseconds at least BATCH_SENDING_MS apart within FOLLOW_BATCH_MS, never beside later slots. */
function checkPolls(polls: unknown, room: number, withLater: boolean): Problem | undefined {
  if (polls === undefined) return undefined;
  const fits =
    !withLater &&
    Array.isArray(polls) &&
    polls.length <= room &&
    polls.every((ms, i) => isWhole(ms, BATCH_SENDING_MS, FOLLOW_BATCH_MS) && (i === 0 || ms - polls[i - 1] >= BATCH_SENDING_MS));
  return fits ? undefined : problem('pollsMs', `is not an ascending list of at most ${room} polls ${BATCH_SENDING_MS} ms or more apart within ${FOLLOW_BATCH_MS} ms, without laterMs`);
}

/**
 * A batch's rounds: absent, or at least one round of at least BATCH_SENDING_MS each, within
 * ROUNDS_BATCH_MS, no more requests in all than a batch may make, never beside follow polls.
 */
function checkRounds(rounds: unknown, input: Slots): Problem | undefined {
  if (rounds === undefined) return undefined;
  const fits =
    input.pollsMs === undefined &&
    isPlainObject(rounds) &&
    Object.keys(rounds).length === 2 &&
    isWhole(rounds.count, 1, MAX_REQUESTS_PER_BATCH) &&
    isWhole(rounds.everyMs, BATCH_SENDING_MS, ROUNDS_BATCH_MS) &&
    (rounds.count as number) * (rounds.everyMs as number) <= ROUNDS_BATCH_MS &&
    firstRound(input) * (1 + (rounds.count as number)) <= MAX_REQUESTS_PER_BATCH;
  return fits
    ? undefined
    : problem('rounds', `is not a count of rounds ${BATCH_SENDING_MS} ms or more apart within ${ROUNDS_BATCH_MS} ms, of at most ${MAX_REQUESTS_PER_BATCH} requests in all, without pollsMs`);
}

/**
 * A batch's progress handed back from outside the workflow (a heartbeat, a checkpoint beside the pages),
 * with its counts under their current names; undefined unless it is well-formed and fits `input`.
 */
export function batchProgressOf(value: unknown, input: BatchInput): BatchProgress | undefined {
  if (!isPlainObject(value) || checkPosition(value.at, input.target.resource, 'at') || !isCounts(value)) return undefined;
  const { sentAt, notes } = value;
  if (!Array.isArray(sentAt) || sentAt.length > batchRequests(input) || sentAt.some((t) => !Number.isFinite(t))) return undefined;
  if (!Array.isArray(notes) || notes.some((n) => typeof n !== 'string')) return undefined;
  return { at: value.at as ExportPosition, ...countsOf(value), sentAt: [...(sentAt as number[])], notes: [...(notes as string[])] };
}

export { BATCH_SENDING_MS };
export type { DestinationRef, EndpointId, ExportPosition };
