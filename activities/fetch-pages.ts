/**
 * The page activity: fetch up to `maxRequests` pages in a row (then one more at each of `laterMs`, and
 * as many again in each of its `rounds`, or one at each follow poll), and for each drop the repeats of the previous page's boundary, write the records to the
 * destination and heartbeat the position. Only positions and counts leave it, so records never enter workflow history. One batch carries out the
 * requests the workflow's rate budget allows now: the round trips through Temporal are paid per batch,
 * not per page, and a worker killed mid-batch costs at most the page in flight (the retry resumes from
 * the last heartbeat).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sleep } from '../common/sleep';
import { endpointSpec } from '../zendesk/endpoints';
import { withoutPaths, ZendeskConfigError, ZendeskError, ZendeskRateLimitedError, ZendeskTooRecentError } from '../zendesk/errors';
import type { ZendeskClient } from '../zendesk/http-client';
import type { RateLimitState } from '../zendesk/page';
import { advance, requestParams } from '../zendesk/paging';
import { NO_COUNTS } from '../contract/counts';
import { checkDestination, type DestinationRef } from '../contract/export';
import { checkBatchInput, FAILURE, REAUTHORIZATION_FAILURE, batchProgressOf, BATCH_SENDING_MS, batchRequests, firstRound, requestSlot, type FailureType, type BatchInput, type BatchCheckpoint, type BatchResult, type BatchProgress, type BatchStop } from '../contract/page-activity';
import { sentence } from '../contract/problem';
import { DestinationConfigError, DestinationError, DestinationRecordError, type Destination } from './destinations';
import type { BatchTrouble, ExportOwner } from './destinations/destination';

export interface FetchPagesDeps {
  /** The account's client; throws ZendeskConfigError for an account the worker does not serve. */
  clientFor(account: string): ZendeskClient;
  /** Throws DestinationConfigError for a destination the worker's configuration does not allow. */
  destinationFor(ref: BatchInput['target']['destination']): Destination;
  /** Told of every page and 429, for metrics. */
  observe?(event: PageEvent): void;
  /** Aborts when the worker begins to stop: a resting batch reports at once. */
  stopping?: AbortSignal;
  /** Reads again which accounts the worker serves (the registry's), after each rest: one removed meanwhile is not asked again. */
  refresh?(): Promise<void>;
  /** Whether a batch may hold its activity slot while it rests (between follow polls or rounds); else it reports. @default true */
  mayRest?(): boolean;
}

export type PageEvent =
  | { kind: 'page'; account: string; resource: string; records: number; seconds: number }
  | { kind: 'rate-limited'; account: string; resource: string; retryAfterSeconds: number };

/** Heartbeats while a page is in flight, so a dead worker is noticed within the heartbeat timeout. */
const KEEPALIVE_MS = 500;
/**
 * A batch that rests (follow polls, rounds) heartbeats this often while it sends, and not with each
 * page but as each rest begins: its heartbeat timeout is its rest and more (workflows/export-resource.ts), its destination's
 * checkpoint carries its progress and sends with each page for a retry, and a cancel reaches it before
 * its next poll or round. Each heartbeat is a write on the Temporal server: at thousands of accounts
 * those of batches sending their rounds were most of its writes, ahead of the workflow tasks of the
 * accounts waiting for their next batch (BENCHMARKS.md).
 */
const RESTING_KEEPALIVE_MS = 5_000;
/**
 * A batch rests until a follow poll or its next round without heartbeats (each would be a write on
 * the Temporal server, thousands a second across a fleet) and heartbeats once this long before it: a
 * pause, a cancel or a new share asked meanwhile reaches it in the answer, and the request is not made.
 */
export const POLL_LEAD_MS = 1000;

/**
 * A batch makes no more requests once two of its heartbeats were further apart than its heartbeat
 * timeout less this (a main thread too busy to beat): Temporal may have asked another attempt to go on
 * meanwhile, and the two would spend the budget twice. Each attempt is sure to leave at most the
 * request in flight unrecorded then, as the next one counts (`unrecorded`).
 */
const LAPSE_MARGIN_MS = 250;

/** A batch as it goes: its progress (heartbeated, and kept with each page as the destination's checkpoint), and why it ended. */
interface Batch {
  progress: BatchProgress;
  stop: BatchStop;
  /** When it last heartbeated (its start, before the first). */
  beatAt: number;
  /** Its heartbeats lapsed once: it sends no more. */
  lapsed?: boolean;
  /** Resting until a follow poll or a round: the keepalive is silent. */
  resting?: boolean;
  retryAfter?: BatchResult['retryAfter'];
  rateLimit?: RateLimitState;
  failure?: BatchResult['failure'];
}

export async function fetchPagesWith(deps: FetchPagesDeps, input: BatchInput, context = activityContext()): Promise<BatchResult> {
  const problem = checkBatchInput(input);
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid export input: ${sentence(problem)}.`, FAILURE.invalidInput);
  const attempt = context?.info.attempt ?? 1;
  const resumed = attempt > 1 || input.resume === true ? await resumedProgress(deps, context?.info.heartbeatDetails, input, ownerOf(input, context)) : undefined;
  const batch: Batch = { progress: resumed ?? { at: input.at, ...NO_COUNTS, sentAt: [], notes: [] }, stop: 'budget', beatAt: Date.now() };
  // Each failed attempt may have spent a request it never recorded: count one each, at the latest time.
  const unrecorded = attempt - 1;
  const allowance = batchRequests(input) - batch.progress.sentAt.length - unrecorded;
  const beat = context && setInterval(() => batch.resting || heartbeat(batch, context), restingBatch(input) ? RESTING_KEEPALIVE_MS : KEEPALIVE_MS);
  try {
    if (allowance > 0) await fetchBatch(deps, input, batch, allowance, context);
  } catch (err) {
    // A follow batch hands back the pages its polls wrote: its next batch meets the failure again, alone.
    if (input.pollsMs && batch.progress.pages > 0) return resultOf(Object.assign(batch, { stop: 'budget' }), unrecorded);
    const failure = asFailure(err);
    // Thrown and retryable (the destination or the registry down for a moment): Temporal asks again.
    const trouble = failure.type === REAUTHORIZATION_FAILURE ? 'needs-reauthorization' : failure.nonRetryable ? 'failed' : 'retrying';
    await recordTrouble(deps, input, context, trouble, failure.message);
    throw err;
  } finally {
    if (beat) clearInterval(beat);
  }
  if (batch.failure) await recordTrouble(deps, input, context, 'retrying', batch.failure.message);
  return resultOf(batch, unrecorded);
}

/** What a batch reports: where it stands, its counts, and every send, as ms before now. */
function resultOf(batch: Batch, unrecorded: number): BatchResult {
  const { progress } = batch;
  const now = Date.now();
  return {
    at: progress.at,
    pages: progress.pages,
    records: progress.records,
    repeats: progress.repeats,
    sideloaded: progress.sideloaded,
    sentAgoMs: [...progress.sentAt.map((t) => Math.max(0, now - t)), ...Array<number>(unrecorded).fill(0)],
    stop: batch.stop,
    retryAfter: batch.retryAfter,
    rateLimit: batch.rateLimit,
    failure: batch.failure,
    notes: progress.notes,
  };
}

/**
 * When the batch began, on this worker's clock: now, less the time since its first schedule. That time
 * is read from the server's two schedule stamps, so the worker's clock, which may differ from the
 * server's, does not enter it. A batch starts requests until BATCH_SENDING_MS after it began, retries
 * included: a retry long after its batch began (the worker was down) sends nothing, and the workflow
 * paces a new batch instead of spending an old share.
 */
function batchBegan(context: Context | undefined): number {
  const info = context?.info;
  const gone = info ? (info.currentAttemptScheduledTimestampMs ?? 0) - (info.scheduledTimestampMs ?? 0) : 0;
  return Date.now() - (Number.isFinite(gone) && gone > 0 ? gone : 0);
}

/**
 * A request counts against the budget from when its answer came: Zendesk counted it somewhere between
 * sending and answering, and a busy Zendesk counts it late, so the answer's time is the one that never
 * frees a slot too early. (Until then, the send time stands, for a heartbeat taken mid-request.)
 */
function answered(sentAt: number[]): void {
  sentAt[sentAt.length - 1] = Date.now();
}

async function fetchBatch(deps: FetchPagesDeps, input: BatchInput, batch: Batch, allowance: number, context: Context | undefined): Promise<void> {
  const { target } = input;
  const { progress } = batch;
  let client = withFailures(() => deps.clientFor(target.account));
  const destination = withFailures(() => deps.destinationFor(target.destination));
  const began = batchBegan(context);
  const started = Date.now();
  const deadline = began + BATCH_SENDING_MS;
  const spent = batchRequests(input) - allowance; // Sends earlier attempts made or may have made.
  let roundDue = began; // When the round in hand was due: the batch's start, then the slot of each later round's first request (this attempt's first, on a retry).
  for (let made = 0; made < allowance; made++) {
    // Requests beyond those allowed now wait for their slot in the budget to free, or their follow poll's time.
    const slot = requestSlot(input, spent + made);
    // A round's request leaves a window after the answer to its twin of the round before (one an earlier attempt made unrecorded: this attempt's start).
    const at = 'after' in slot ? (progress.sentAt[slot.after] ?? started) + slot.everyMs : began + slot.ms;
    if ('after' in slot && (made === 0 || slot.after % firstRound(input) === 0)) roundDue = at;
    const rests = slot.rests && at - Date.now() > POLL_LEAD_MS;
    // A worker short of activity slots keeps them for batches that send: this one reports instead of resting.
    if (rests && deps.mayRest?.() === false) return;
    if (rests) await rest(batch, at, context, deps.stopping);
    else if (at > Date.now()) await sleep(at - Date.now(), context?.cancellationSignal);
    if (context?.cancellationSignal.aborted || (slot.rests && deps.stopping?.aborted)) {
      batch.stop = 'cancelled';
      return;
    }
    if (slot.rests) {
      await deps.refresh?.();
      client = withFailures(() => deps.clientFor(target.account));
    }
    // A first attempt always makes its first request; a retry only within the batch's sending time, or a
    // follow poll within its own. Each round of a batch of rounds may send for its whole window, from
    // when the round was due: answers too slow for a share in BATCH_SENDING_MS (a busy worker or
    // Zendesk), or slower than in the round before (each request waits for its twin's window and for
    // the request before it, so the lateness adds up along a round), would otherwise cut it and, with
    // it, the rounds (the next batch would find less than a share free, and ExportRules.nextBatch makes
    // rounds only of a whole share, so the export would need a workflow task each window). Sending later
    // than its slot never crowds a window, a cancel reaches the batch at its next keepalive, and rounds
    // a window late each still end within the batch's start-to-close timeout (rounds and 10 minutes).
    const sendBy = input.rounds ? roundDue + input.rounds.everyMs : slot.rests ? at + BATCH_SENDING_MS : deadline;
    if ((made > 0 || (context?.info.attempt ?? 1) > 1) && Date.now() > sendBy) return;
    if (lapsed(batch, context)) return;
    const endpoint = endpointSpec(progress.at.endpoint);
    const sentAt = Date.now();
    progress.sentAt.push(sentAt);
    let page;
    try {
      page = await client.fetchPage(endpoint, target.resource, requestParams(progress.at, target.options), target.options.include, context?.cancellationSignal);
    } catch (err) {
      answered(progress.sentAt);
      if (context?.cancellationSignal.aborted) {
        batch.stop = 'cancelled'; // The request was abandoned with its batch: the page is asked for again later.
        return;
      }
      if (err instanceof ZendeskRateLimitedError) {
        deps.observe?.({ kind: 'rate-limited', account: target.account, resource: target.resource, retryAfterSeconds: err.retryAfterSeconds });
        Object.assign(batch, { stop: 'rate-limited', retryAfter: { seconds: err.retryAfterSeconds, capped: err.capped }, rateLimit: err.rateLimit });
        return;
      }
      if (err instanceof ZendeskTooRecentError) {
        batch.stop = 'caught-up';
        if (pollNext(input, spent + made)) continue;
        return;
      }
      return failed(batch, err);
    }
    answered(progress.sentAt);
    batch.rateLimit = page.rateLimit;
    const step = advance(progress.at, target.resource, page, Math.floor(Date.now() / 1000));
    if (step.kind === 'stuck') throw ApplicationFailure.nonRetryable(step.message, FAILURE.stuck);
    if (step.kind === 'refused') throw ApplicationFailure.nonRetryable(step.message, 'ZendeskAnswerRefusedError');
    const after: BatchProgress = {
      at: step.at,
      pages: progress.pages + 1,
      records: progress.records + step.fresh.length,
      repeats: progress.repeats + step.repeats,
      sideloaded: progress.sideloaded + Object.values(page.sideloads).reduce((n, list) => n + list.length, 0),
      sentAt: progress.sentAt,
      notes: step.note ? [...progress.notes, step.note] : progress.notes,
    };
    try {
      await destination.writePage({
        account: target.account,
        owner: ownerOf(input, context),
        exportId: target.exportId,
        resource: target.resource,
        endpoint: progress.at.endpoint,
        origin: target.origin,
        pageNumber: input.firstPage + progress.pages,
        records: step.fresh,
        sideloads: page.sideloads,
        at: step.at,
        checkpoint: { ...after, exportId: target.exportId, origin: target.origin, firstPage: input.firstPage },
        endOfStream: step.endOfStream,
      });
    } catch (err) {
      return failed(batch, err);
    }
    Object.assign(progress, after);
    if (context && !restingBatch(input)) heartbeat(batch, context);
    deps.observe?.({ kind: 'page', account: target.account, resource: target.resource, records: step.fresh.length, seconds: (Date.now() - sentAt) / 1000 });
    batch.stop = step.endOfStream ? 'end-of-stream' : 'budget';
    if (step.endOfStream) {
      if (pollNext(input, spent + made)) continue; // Caught up: rest until the next follow poll.
      return;
    }
    if (pollNext(input, spent + made)) return; // More than a page came in: the workflow paces the rest.
    if (step.note) return; // A new endpoint or page size: the workflow hears of it before going on.
    // Zendesk says the bucket is empty (someone else spends it too): the workflow holds until it resets.
    // Not at a round's end: the next request leaves a window after its twin, which was in the bucket's
    // window, so the bucket has reset by then (as the workflow's own rule, emptyBucketHold, would find).
    if (page.rateLimit.remaining !== undefined && page.rateLimit.remaining <= 0 && !roundNext(input, spent + made)) return;
  }
}

/** Heartbeats the batch's progress, noting a lapse since the last (`LAPSE_MARGIN_MS`). */
function heartbeat(batch: Batch, context: Context): void {
  lapsed(batch, context);
  batch.beatAt = Date.now();
  context.heartbeat(batch.progress);
}

/** Whether the batch's heartbeats lapsed, now or before: it may no longer be the attempt Temporal waits for. */
function lapsed(batch: Batch, context: Context | undefined): boolean {
  const timeout = context?.info.heartbeatTimeoutMs;
  if (timeout && Date.now() - batch.beatAt >= timeout - LAPSE_MARGIN_MS) batch.lapsed = true;
  return batch.lapsed === true;
}

/** Whether the batch may rest between its requests: it makes follow polls or rounds. */
function restingBatch(input: BatchInput): boolean {
  return input.pollsMs !== undefined || input.rounds !== undefined;
}

/** Whether the request after the one at `index` is a later round's, a window after its twin. */
function roundNext(input: BatchInput, index: number): boolean {
  return index + 1 < batchRequests(input) && 'after' in requestSlot(input, index + 1);
}

/** Whether the request after the one at `index` is a follow poll. */
function pollNext(input: BatchInput, index: number): boolean {
  return index + 1 < batchRequests(input) && requestSlot(input, index + 1).poll;
}

/**
 * Rests until a follow poll or a round's request is due at `at`, silent but for a heartbeat as it
 * begins (its heartbeat timeout counts from the end of what it sent, not from the beat before) and
 * one POLL_LEAD_MS before `at`, whose answer brings a cancel asked meanwhile. Cut short by a cancel,
 * or by the worker stopping.
 */
async function rest(batch: Batch, at: number, context: Context | undefined, stopping: AbortSignal | undefined): Promise<void> {
  const woken = new AbortController();
  const wake = () => woken.abort();
  const sources = [context?.cancellationSignal, stopping].filter((s): s is AbortSignal => s !== undefined);
  for (const source of sources) {
    if (source.aborted) wake();
    else source.addEventListener?.('abort', wake, { once: true });
  }
  if (context) heartbeat(batch, context);
  batch.resting = true;
  try {
    await sleep(at - POLL_LEAD_MS - Date.now(), woken.signal);
    if (woken.signal.aborted) return;
    if (context) heartbeat(batch, context);
    await sleep(at - Date.now(), woken.signal);
  } finally {
    batch.resting = false;
    for (const source of sources) source.removeEventListener?.('abort', wake);
  }
}

/**
 * Where an earlier attempt of this batch got to: the later of its last heartbeat and the checkpoint its
 * destination kept with its last page (heartbeats are throttled; the checkpoint is written with each
 * page). Either is used only when well-formed and this batch's.
 */
async function resumedProgress(deps: FetchPagesDeps, details: unknown, input: BatchInput, owner: ExportOwner): Promise<BatchProgress | undefined> {
  const beat = batchProgressOf(details, input);
  let kept: unknown;
  try {
    kept = await deps.destinationFor(input.target.destination).readCheckpoint({ ...input.target, owner });
  } catch {
    kept = undefined;
  }
  const checkpoint = kept as Partial<BatchCheckpoint> | undefined;
  const ours = checkpoint && checkpoint.exportId === input.target.exportId && checkpoint.origin === input.target.origin && checkpoint.firstPage === input.firstPage;
  const saved = ours ? batchProgressOf(checkpoint, input) : undefined;
  if (saved && saved.pages <= batchRequests(input) && saved.pages > (beat?.pages ?? 0)) return saved;
  return beat;
}

/** Tells the destination how the batch ended, where it keeps a status table; never fails the batch further. */
async function recordTrouble(deps: FetchPagesDeps, input: BatchInput, context: Context | undefined, trouble: BatchTrouble, reason: string): Promise<void> {
  try {
    await deps.destinationFor(input.target.destination).recordTrouble?.({ ...input.target, owner: ownerOf(input, context) }, trouble, reason);
  } catch {
    // A destination the worker refuses has no status to keep; the export's own status says why.
  }
}

/** The destination a page activity would write to, refused as it would refuse it; nothing is written. */
export async function checkDestinationWith(deps: FetchPagesDeps, ref: DestinationRef): Promise<void> {
  const problem = checkDestination(ref);
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid destination: ${sentence(problem)}.`, FAILURE.invalidInput);
  withFailures(() => deps.destinationFor(ref));
}

/** Who the pages are written for: the workflow the server scheduled this activity for, never the input's word alone. */
function ownerOf(input: BatchInput, context: Context | undefined): ExportOwner {
  return { workflowId: context?.info.workflowExecution?.workflowId ?? input.target.exportId, firstRunId: input.firstRunId };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // Called outside an activity (benchmarks).
  }
}

function withFailures<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asFailure(err);
  }
}

/**
 * Ends the batch on a failed request. What asking again may mend goes back to the workflow, which
 * backs off on its own, paced, bounded timer; what it cannot mend is thrown, and the export fails.
 */
function failed(batch: Batch, err: unknown): void {
  const failure = asFailure(err);
  if (failure.nonRetryable) throw failure;
  batch.stop = 'failed';
  batch.failure = { type: failure.type as FailureType, message: failure.message };
}

/** Zendesk's and the destination's errors as Temporal failures whose type says whether asking again may mend them. */
function asFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // The worker's configuration errors name its files for its operator; a failure is read by every client.
  if (err instanceof ZendeskConfigError) return ApplicationFailure.nonRetryable(withoutPaths(err.message), err.type);
  if (err instanceof ZendeskError) return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable });
  if (err instanceof DestinationRecordError) return ApplicationFailure.nonRetryable(err.message, FAILURE.record);
  if (err instanceof DestinationConfigError) return ApplicationFailure.nonRetryable(err.message, FAILURE.destinationConfig);
  if (err instanceof DestinationError) return ApplicationFailure.create({ message: err.message, type: FAILURE.destination });
  return ApplicationFailure.create({ message: withoutPaths((err as Error)?.message ?? String(err)), type: FAILURE.unexpected });
}
