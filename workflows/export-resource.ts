/**
 * One export: a loop over batches of pages of one endpoint for one resource of one account. Each batch is
 * one fetchPages activity carrying out as many requests as the rate budget allows now; it writes the
 * records and returns only positions and counts. Between batches the export waits on workflow timers for
 * its budget, or exactly Retry-After after a 429; it can be paused, resumed, cancelled and followed,
 * and continues as new with its state. The rules live in ExportRules; this file wires them to Temporal.
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { FAILURE, NON_RETRYABLE_FAILURES, REAUTHORIZATION_FAILURE, batchRequests, type BatchResult } from '../contract/page-activity';
import type { ExportActivities } from '../activities';
import { causeChain } from '../common/cause';
import { endpointSpec } from '../zendesk/endpoints';
import { describePosition } from '../zendesk/page';
import { checkBatchResult } from '../contract/batch-result';
import { withCounts } from '../contract/counts';
import { checkExportInput, withCurrentCounts } from '../contract/export';
import { checkShareMessage, shareGrant, type ShareGrant } from '../contract/share';
import { readable, sentence } from '../contract/problem';
import { ExportRules } from './export-rules';
import { MEMO, coordinatorWorkflowId } from './ids';
import { batchPriority } from './priority';
import { exportFinishedSignal, exportInputQuery, observedLimitSignal, pauseSignal, pauseUpdate, progressQuery, resumeSignal, resumeUpdate, setShareSignal } from './messages';
import { searchAttributeKeys } from './search-attributes';
import type { ExportInput, ExportResult, ExportStatus } from './types';

const { fetchPages } = proxyActivities<ExportActivities>({
  // A batch starts pages for at most 30 seconds; a page may take the request timeout (2 minutes).
  startToCloseTimeout: '10 minutes',
  // The batch heartbeats every half second, so a killed worker is noticed within 1.5 s.
  heartbeatTimeout: '1500 ms',
  // A backstop: failures Zendesk or the destination cause come back as results, and the export backs
  // off on its own paced timer; what Temporal retries here is a batch whose worker died.
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '200 ms',
    // Nothing to back off from but a dead worker: a worker killed again and again still recovers within seconds.
    backoffCoefficient: 1.5,
    maximumInterval: '5 seconds',
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
  },
  // A pause or cancel lets a page being written finish (a request not yet answered is abandoned), and the batch reports what it wrote.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * Asked of the worker that runs the workflow, and recorded by it in history (a client cannot forge
 * them): whether a batch's result or a share carries the worker's seal, and the operator's rate ceilings.
 */
const { isGenuine, rateCeilings } = proxyLocalActivities<ExportActivities>({ startToCloseTimeout: '10 seconds' });

/** A batch's activity ends by timing out only after this long (its schedule-to-close timeout). */
const BATCH_GIVES_UP_MS = 24 * 3600_000;

/**
 * Changes to what the workflow asks of Temporal, guarded so that runs begun before them replay as they
 * were recorded (docs/upgrades.md). `sendSchedule` (0.2.1): a batch also makes the requests whose
 * budget slots free while it runs, each at its slot, instead of one workflow round trip per slot.
 * `verifyBatch` (`verify-run`): a batch's result or failure is believed only when it fits its request and carries the
 * worker's seal. `rateCeiling`: the export runs only under its coordinator, within the operator's ceiling.
 * `sealedShares`: a share is taken only when its coordinator sealed it and it is newer than the last.
 * `fairBatches`: each batch is scheduled with its account as fairness key, follow polls ahead of
 * backfills (workflows/priority.ts). `quietPolls`: a follow poll leaves the status at `following`
 * instead of writing `running` and then `following` again (two history events and two visibility
 * writes a poll). `followBatches`: a caught-up export's batch makes its follow polls of the next hour
 * itself, resting between them, where each fits its share (ExportRules.followPolls): a round trip
 * through Temporal an hour instead of one a poll. `windowRounds`: a backfill held to its budget makes
 * the rounds of its next windows in one batch, resting between them (ExportRules.nextBatch): a round
 * trip through Temporal every 5 minutes instead of one a window.
 */
const PATCHES = {
  sendSchedule: 'send-schedule',
  verifyBatch: 'verify-run',
  rateCeiling: 'rate-ceiling',
  sealedShares: 'sealed-shares',
  fairBatches: 'fair-batches',
  quietPolls: 'quiet-polls',
  followBatches: 'follow-batches',
  windowRounds: 'window-rounds',
} as const;

/**
 * A batch making follow polls heartbeats once a poll, just before it (activities/fetch-pages.ts
 * POLL_LEAD_MS): its heartbeat timeout is the interval and this, so a dead worker's batch is asked
 * again within an interval and a minute.
 */
const FOLLOW_HEARTBEAT_SLACK_MS = 60_000;
/**
 * A batch making rounds heartbeats with each page of a round and once before the next, at most a
 * window apart: its heartbeat timeout is the window and this, so a dead worker's batch is asked again
 * within a window and 15 s.
 */
const ROUND_HEARTBEAT_SLACK_MS = 15_000;
/** A resting batch ends within this after its last poll or round begins (its requests, at most 2 minutes each, and writing them). */
const RESTING_BATCH_TAIL_MS = 10 * 60_000;

/** Pages per run of the workflow before continuing as new, unless the server suggests it sooner. */
export const DEFAULT_MAX_PAGES_PER_RUN = 1000;
/** History events per run before continuing as new (a follow export adds a few per poll, for months). */
export const MAX_HISTORY_EVENTS = 2000;
/** Waits shorter than this do not flip the status search attribute (a write per page nobody reads). */
const SHORT_WAIT_MS = 2000;

/** One export's wiring: its input, its state and rules (ExportRules), and what its handlers reach. */
interface Exporting {
  input: ExportInput;
  rules: ExportRules;
  /** Search attributes are kept up to date only where the starter registered them (not in unit tests). */
  hasSearchAttributes: boolean;
  /** The batch in flight, which a pause cancels. */
  batch?: CancellationScope;
  /**
   * The batch in flight rests between its requests (follow polls, rounds) and hears of a pause or a
   * share only before its next: what it asked for, and the status it runs under.
   */
  resting?: { request: BatchRequest; status: ExportStatus };
  /** The batch in flight was cut short by the export itself (a share it no longer fits). */
  cutShort?: boolean;
  /** Counts the shares the coordinator sent: a wait for budget wakes at a new one. */
  shareChanges: number;
  /** Shares count only with their coordinator's seal (its coordinator numbers them: `shareSeq` in the input). */
  sealedShares: boolean;
}

export async function exportResource(given: ExportInput): Promise<ExportResult> {
  const workflowId = workflowInfo().workflowId;
  const problem = readable(() => checkExportInput(given, workflowId, Date.now()));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid export input: ${sentence(problem)}.`, FAILURE.invalidInput);
  const input = withCurrentCounts(given);
  const e: Exporting = {
    input,
    rules: new ExportRules(input, workflowId, Date.now()),
    hasSearchAttributes: workflowInfo().typedSearchAttributes.get(searchAttributeKeys.status) !== undefined,
    shareChanges: 0,
    sealedShares: false,
  };
  if (patched(PATCHES.rateCeiling)) await underCoordinator(e);
  e.sealedShares = input.shareSeq !== undefined && patched(PATCHES.sealedShares);
  handleMessages(e);
  let outcome: 'done' | 'continue-as-new';
  try {
    outcome = await pageLoop(e);
  } catch (err) {
    throw await ended(e, err);
  }
  if (outcome === 'continue-as-new') {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof exportResource>(e.rules.carry());
  }
  const { rules } = e;
  if (input.maxPages !== undefined && rules.state.progress.pages >= input.maxPages && !rules.state.progress.endOfStreamAt) {
    rules.note(`Stopped after ${input.maxPages} page${input.maxPages === 1 ? '' : 's'}, as asked.`);
  }
  recordEnd(e, 'completed');
  await finished(input, rules);
  return { outcome: 'completed', state: rules.state };
}

/** Queries, and pause, resume and shares: as updates (answered) and as the signals of 0.2.1 and the coordinator. */
function handleMessages(e: Exporting): void {
  const { rules } = e;
  setHandler(progressQuery, () => rules.state);
  setHandler(exportInputQuery, () => ({ ...e.input, state: undefined }));
  const pause = () => {
    rules.state.paused = true;
    e.batch?.cancel(); // The batch finishes its page in flight and reports.
    // A batch resting until its next follow poll reports only then, without making it: paused from now.
    if (e.resting) setStatus(e, 'paused');
  };
  const resume = () => {
    rules.state.paused = false;
    if (e.resting) setStatus(e, e.resting.status); // The paused batch reports at its next request's time, and the export goes on.
  };
  setHandler(pauseSignal, pause);
  setHandler(resumeSignal, resume);
  setHandler(pauseUpdate, () => (pause(), rules.state.status), { validator: noArguments });
  setHandler(resumeUpdate, () => (resume(), rules.state.status), { validator: noArguments });
  setHandler(setShareSignal, async (share, budget, sends, seq, seal) => {
    if (checkShareMessage(share, budget, sends)) return;
    if (e.sealedShares) {
      const problem = await shareProblem(e, shareGrant(rules.exportId, share, budget, sends ?? [], seq!), seal);
      if (problem) return void log.warn('Refused a share', { workflowId: rules.exportId, problem });
    }
    rules.acceptShare(share, budget, sends ?? [], Date.now(), e.sealedShares ? seq : undefined);
    e.shareChanges++;
    if (e.resting && !rules.restingBatchFits(e.resting.request)) {
      // The batch's polls or rounds no longer fit the new share: it stops before its next, and the loop paces.
      e.cutShort = true;
      e.batch?.cancel();
    }
  });
}

/**
 * Why a share is not taken: any client can send setShare, and read earlier ones in history, so a share
 * counts only when it is newer than the last one taken and a local activity finds its coordinator's
 * seal on it (the worker records the answer, a client cannot).
 */
async function shareProblem(e: Exporting, grant: ShareGrant, seal: unknown): Promise<string | undefined> {
  if (!e.rules.isNewShare(grant.seq)) return 'it is not newer than the share the export holds (stale, or copied from history)';
  if (!(await isGenuine({ kind: 'share', grant, seal }))) return 'it carries no seal of its coordinator';
  return e.rules.isNewShare(grant.seq) ? undefined : 'a newer share came in while its seal was checked';
}

function setStatus(e: Exporting, status: ExportStatus, detail = ''): void {
  if (e.rules.setStatus(status, Date.now()) && e.hasSearchAttributes) upsertSearchAttributes([{ key: searchAttributeKeys.status, value: status }]);
  setCurrentDetails(e.rules.details(detail));
}

/**
 * A durable timer that a pause cuts short, and a new share too when `onShare` (the loop then reckons
 * again). `budget`: a wait for the rate budget or Retry-After, counted in `waitedMs`.
 */
async function wait(e: Exporting, ms: number, summary: string, kind: { onShare?: boolean; budget?: boolean } = {}): Promise<void> {
  const seen = e.shareChanges;
  const started = Date.now();
  const woken = () => e.rules.state.paused || (kind.onShare === true && e.shareChanges !== seen);
  if (Number.isFinite(ms)) await condition(woken, ms, { summary });
  else await condition(woken); // Queued: until the coordinator gives a share.
  // Only a planned wait's own length: time the worker was down, or a queue's length, does not count.
  if (kind.budget && Number.isFinite(ms)) e.rules.waited(Math.min(Date.now() - started, ms));
}

/** Batches, each when the budget allows, until the export is done or should continue as new. */
async function pageLoop(e: Exporting): Promise<'done' | 'continue-as-new'> {
  const { input, rules } = e;
  const maxPagesPerRun = input.maxPagesPerRun ?? DEFAULT_MAX_PAGES_PER_RUN;
  let pagesThisRun = 0;
  for (;;) {
    if (rules.state.paused) {
      setStatus(e, 'paused');
      await condition(() => !rules.state.paused);
    }
    const waitMs = rules.waitMs(Date.now());
    if (waitMs > 0) {
      const { share, budget } = rules.state.pace;
      if (waitMs >= SHORT_WAIT_MS) setStatus(e, 'waiting-rate-budget', share ? `${Math.ceil(waitMs / 1000)}s` : 'queued behind other exports of the account');
      await wait(e, waitMs, share ? `waiting for rate budget (${share} per ${budget.seconds}s)` : 'queued: the account budget is in use', { onShare: true, budget: true });
      continue; // The share or the pause may have changed meanwhile.
    }
    if (rules.state.status !== 'following' || !patched(PATCHES.quietPolls)) setStatus(e, 'running');
    const following = rules.state.status === 'following' && rules.pollsFitShare() && patched(PATCHES.followBatches);
    const shape = { scheduled: patched(PATCHES.sendSchedule), following, rounds: !following && patched(PATCHES.windowRounds) };
    const request = rules.nextBatch(Date.now(), maxPagesPerRun - pagesThisRun, shape);
    const result = await scheduleBatch(e, request);
    if (!result) continue; // Paused before the batch started.
    pagesThisRun += result.pages;
    if ((await afterBatch(e, result)) === 'done') return 'done';
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || pagesThisRun >= maxPagesPerRun) {
      return 'continue-as-new';
    }
  }
}

/** Takes a batch's result in, and waits as it decides: Retry-After, a backoff, a follow poll; or says the export is done. */
async function afterBatch(e: Exporting, result: BatchResult): Promise<'done' | 'go-on'> {
  const { input, rules } = e;
  const { next, tightened } = rules.applyBatch(result, Date.now());
  if (tightened && input.coordinatorId) {
    void getExternalWorkflowHandle(input.coordinatorId)
      .signal(observedLimitSignal, endpointSpec(rules.state.at.endpoint).bucket, tightened.requests)
      .catch(() => undefined);
  }
  if (next.kind === 'retry-after') {
    // Someone else on the account spent the budget: wait exactly as long as Zendesk says.
    setStatus(e, 'waiting-retry-after', `${next.ms / 1000}s`);
    await wait(e, next.ms, `Retry-After ${next.ms / 1000}s (HTTP 429)`, { budget: true });
  } else if (next.kind === 'retry') {
    setStatus(e, 'retrying', `attempt ${rules.state.retry!.attempts + 1} in ${next.ms / 1000}s: ${rules.state.retry!.message}`);
    await wait(e, next.ms, `retry in ${next.ms / 1000}s after: ${rules.state.retry!.message.slice(0, 120)}`);
  } else if (next.kind === 'give-up') {
    throw ApplicationFailure.nonRetryable(next.message, next.type);
  } else if (next.kind === 'enough') {
    return 'done';
  } else if (next.kind === 'caught-up') {
    if (input.followIntervalSeconds === undefined) return 'done';
    setStatus(e, 'following', `next poll in ${input.followIntervalSeconds}s`);
    await wait(e, input.followIntervalSeconds * 1000, `follow: poll again in ${input.followIntervalSeconds}s`);
  }
  return 'go-on';
}

/** Only the coordinator keeps the account within its budget: an export a client started alone would not. */
async function underCoordinator(e: Exporting): Promise<void> {
  if (workflowInfo().parent?.workflowId !== coordinatorWorkflowId(e.input.account)) {
    throw ApplicationFailure.nonRetryable(
      `Invalid export input: an export runs only when its account's coordinator starts it (zendesk-export start, or ExportClient), so that it keeps within the account's budget.`,
      FAILURE.invalidInput,
    );
  }
  e.rules.limitTo(await rateCeilings());
}

type BatchRequest = ReturnType<ExportRules['nextBatch']>;

/**
 * One batch, in a scope a pause cancels; undefined when the pause came before it started. Any
 * namespace client can complete, fail or cancel the activity by its ID: what does not fit the request
 * or carry the worker's seal is refused, and stands for a failed batch that is asked again.
 */
async function scheduleBatch(e: Exporting, request: BatchRequest): Promise<BatchResult | undefined> {
  const scope = new CancellationScope();
  e.batch = scope;
  const verify = patched(PATCHES.verifyBatch);
  const scheduledAt = Date.now();
  // The first run names the export's files' owner (the server gives it, no client); not a command, so no patch.
  const owned = { ...request, firstRunId: workflowInfo().firstExecutionRunId };
  try {
    const pages = batchRequests(request);
    const summary = `${e.input.resource}: up to ${pages} page${pages === 1 ? '' : 's'} from ${describePosition(request.at.next)}`;
    // The priority rides in the command that schedules the batch: histories recorded without it replay without it.
    const priority = patched(PATCHES.fairBatches) ? { priority: batchPriority(e.input.account, e.rules.state.progress.endOfStreamAt !== undefined) } : {};
    e.resting = request.pollsMs || request.rounds ? { request, status: e.rules.state.status } : undefined;
    const result = await scope.run(() => fetchPages.executeWithOptions({ summary, ...priority, ...restingTimeouts(e.input, request) }, [owned]));
    // A worker of 0.2.1 answers with its count names: read either. A resting batch's pages of up to an
    // hour count even when the export is being cancelled: its end records them (resting batches are
    // new with their patches, so no earlier history takes this path).
    const check = () => believed(e, owned, result);
    return withCounts(verify ? await (e.resting ? CancellationScope.nonCancellable(check) : check()) : result);
  } catch (err) {
    if (isCancellation(err)) {
      // The export itself is cancelled: so is the export. Else a pause cut the batch short, or a client cancelled it by ID.
      if (CancellationScope.current().consideredCancelled) throw err;
      return !verify || e.rules.state.paused || e.cutShort ? undefined : refused(e, owned, 'the batch was cancelled, but not by this export');
    }
    if (verify && !(await genuineFailure(owned, err, scheduledAt))) return refused(e, owned, 'the batch failed with a failure no worker sealed');
    throw err;
  } finally {
    e.batch = undefined;
    e.resting = undefined;
    e.cutShort = false;
  }
}

/** A resting batch lives until its last poll or round, and heartbeats once before each. */
function restingTimeouts(input: ExportInput, request: BatchRequest): Pick<ActivityOptions, 'heartbeatTimeout' | 'startToCloseTimeout'> {
  const last = request.pollsMs?.at(-1);
  if (last !== undefined) return { heartbeatTimeout: input.followIntervalSeconds! * 1000 + FOLLOW_HEARTBEAT_SLACK_MS, startToCloseTimeout: last + RESTING_BATCH_TAIL_MS };
  const rounds = request.rounds;
  if (rounds) return { heartbeatTimeout: rounds.everyMs + ROUND_HEARTBEAT_SLACK_MS, startToCloseTimeout: rounds.count * rounds.everyMs + RESTING_BATCH_TAIL_MS };
  return {};
}

/** The result, if it fits its request and the worker sealed it (the seal covers it as the worker sent it); else a refused batch. */
async function believed(e: Exporting, request: BatchRequest, result: BatchResult): Promise<BatchResult> {
  const unfit = readable(() => checkBatchResult(request, result));
  const problem = unfit ? sentence(unfit) : (await isGenuine({ kind: 'result', request, result })) ? undefined : 'it carries no seal of this deployment';
  return problem ? refused(e, request, problem) : result;
}

/** A failure is the worker's when sealed by it, or a timeout once the batch's whole time is up (the server's own). */
async function genuineFailure(request: BatchRequest, err: unknown, scheduledAt: number): Promise<boolean> {
  if (!(err instanceof ActivityFailure)) return true; // Not the activity's: the workflow's own error.
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return isGenuine({ kind: 'failure', request, failure: { type: cause.type ?? '', message: cause.message }, seal: cause.details?.[0] });
  }
  return cause instanceof TimeoutFailure && Date.now() - scheduledAt >= BATCH_GIVES_UP_MS;
}

function refused(e: Exporting, request: BatchRequest, problem: string): BatchResult {
  log.warn('Refused a batch result', { workflowId: e.rules.exportId, problem });
  return e.rules.refusedBatch(request, problem);
}

/** The end, readable without a worker: the state and input go into the memo, which describe() returns. */
function recordEnd(e: Exporting, status: ExportStatus, detail = ''): void {
  setStatus(e, status, detail);
  upsertMemo({ [MEMO.state]: e.rules.state, [MEMO.input]: { ...e.input, state: undefined } });
}

/** A cancelled or failed export: the coordinator told, the end recorded; the error to end the workflow with. */
async function ended(e: Exporting, err: unknown): Promise<unknown> {
  await finished(e.input, e.rules);
  if (isCancellation(err)) {
    recordEnd(e, 'cancelled');
    return err; // Temporal shows the export as cancelled; the memo says where it stopped.
  }
  const failure = describeFailure(err);
  e.rules.fail(failure.message, Date.now());
  // A lost grant is told apart (ZendeskExportStatus, the memo's state): the admin must reconnect the account.
  recordEnd(e, failure.type === REAUTHORIZATION_FAILURE ? 'needs-reauthorization' : 'failed', failure.message);
  return ApplicationFailure.create({ message: failure.message, type: failure.type, nonRetryable: true });
}

/** The validator of pause and resume, which take nothing: a client that sends more is told so. */
function noArguments(...args: unknown[]): void {
  if (args.length) throw ApplicationFailure.create({ message: 'Pause and resume take no arguments.', type: FAILURE.invalidInput, nonRetryable: true });
}

/** Tells the coordinator the export ended, with its sends of the last window (they still count against the account). */
async function finished(input: ExportInput, rules: ExportRules): Promise<void> {
  if (!input.coordinatorId) return;
  const coordinatorId = input.coordinatorId;
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(coordinatorId)
      .signal(exportFinishedSignal, rules.exportId, rules.state.pace.sent)
      .catch(() => undefined), // The coordinator may be gone; nothing depends on it now.
  );
}

/** The innermost failure, whose message is Zendesk's or the destination's (ActivityFailure → ApplicationFailure). */
function describeFailure(err: unknown): { message: string; type: string } {
  const chain = causeChain<{ cause?: unknown; message?: string; type?: string; timeoutType?: unknown }>(err);
  const e = chain.at(-1);
  const timedOut = chain.some((c) => c?.timeoutType !== undefined);
  const message = e?.message ?? String(err);
  if (timedOut) return { message: `Gave up after a day of failed attempts: ${message}`, type: e?.type ?? FAILURE.unexpected };
  return { message, type: e?.type ?? FAILURE.unexpected };
}
