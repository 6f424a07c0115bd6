/**
 * One export: a loop over runs of pages of one endpoint for one resource of one account. Each run is
 * one fetchPages activity carrying out as many requests as the rate budget allows now; it writes the
 * records and returns only positions and counts. Between runs the export waits on workflow timers for
 * its budget, or exactly Retry-After after a 429; it can be paused, resumed, cancelled and followed,
 * and continues as new with its state. The rules live in ExportRun; this file wires them to Temporal.
 */
import {
  ActivityCancellationType,
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
import { FAILURE, NON_RETRYABLE_FAILURES, runRequests, type FetchPagesResult } from '../activities/contract';
import type { ExportActivities } from '../activities';
import { causeChain } from '../common/cause';
import { endpointSpec } from '../zendesk/endpoints';
import { describePosition } from '../zendesk/page';
import { checkBatchResult } from '../contract/batch-result';
import { withCounts } from '../contract/counts';
import { checkBudget, checkExportInput, checkSends, withCurrentCounts } from '../contract/export';
import { readable, sentence } from '../contract/problem';
import { ExportRun } from './export-run';
import { MEMO, coordinatorWorkflowId } from './ids';
import { runPriority } from './priority';
import { exportFinishedSignal, exportInputQuery, observedLimitSignal, pauseSignal, pauseUpdate, progressQuery, resumeSignal, resumeUpdate, setShareSignal } from './messages';
import { searchAttributeKeys } from './search-attributes';
import type { ExportInput, ExportResult, ExportStatus } from './types';

const { fetchPages } = proxyActivities<ExportActivities>({
  // A run starts pages for at most 30 seconds; a page may take the request timeout (2 minutes).
  startToCloseTimeout: '10 minutes',
  // The run heartbeats every half second, so a killed worker is noticed within 1.5 s.
  heartbeatTimeout: '1500 ms',
  // A backstop: failures Zendesk or the destination cause come back as results, and the export backs
  // off on its own paced timer; what Temporal retries here is a run whose worker died.
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '200 ms',
    // Nothing to back off from but a dead worker: a worker killed again and again still recovers within seconds.
    backoffCoefficient: 1.5,
    maximumInterval: '5 seconds',
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
  },
  // A pause or cancel lets a page being written finish (a request not yet answered is abandoned), and the run reports what it wrote.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * Asked of the worker that runs the workflow, and recorded by it in history (a client cannot forge
 * them): whether a run's result carries the worker's seal, and the operator's rate ceilings.
 */
const { isGenuine, rateCeilings } = proxyLocalActivities<ExportActivities>({ startToCloseTimeout: '10 seconds' });

/** A run's activity ends by timing out only after this long (its schedule-to-close timeout). */
const RUN_GIVES_UP_MS = 24 * 3600_000;

/**
 * Changes to what the workflow asks of Temporal, guarded so that runs begun before them replay as they
 * were recorded (docs/upgrades.md). `sendSchedule` (0.2.1): a run of pages also makes the requests whose
 * budget slots free while it runs, each at its slot, instead of one workflow round trip per slot.
 * `verifyRun`: a run's result or failure is believed only when it fits its request and carries the
 * worker's seal. `rateCeiling`: the export runs only under its coordinator, within the operator's ceiling.
 * `fairRuns`: each run is scheduled with its account as fairness key, follow polls ahead of backfills
 * (workflows/priority.ts). `quietPolls`: a follow poll leaves the status at `following` instead of
 * writing `running` and then `following` again (two history events and two visibility writes a poll).
 */
const PATCHES = { sendSchedule: 'send-schedule', verifyRun: 'verify-run', rateCeiling: 'rate-ceiling', fairRuns: 'fair-runs', quietPolls: 'quiet-polls' } as const;

/** Pages per run of the workflow before continuing as new, unless the server suggests it sooner. */
export const DEFAULT_MAX_PAGES_PER_RUN = 1000;
/** History events per run before continuing as new (a follow export adds a few per poll, for months). */
export const MAX_HISTORY_EVENTS = 2000;
/** Waits shorter than this do not flip the status search attribute (a write per page nobody reads). */
const SHORT_WAIT_MS = 2000;

/** One export's wiring: its input, its state and rules (ExportRun), and what its handlers reach. */
interface Exporting {
  input: ExportInput;
  run: ExportRun;
  /** Search attributes are kept up to date only where the starter registered them (not in unit tests). */
  hasSearchAttributes: boolean;
  /** The run of pages in flight, which a pause cancels. */
  pages?: CancellationScope;
  /** Counts the shares the coordinator sent: a wait for budget wakes at a new one. */
  shareChanges: number;
}

export async function exportResource(given: ExportInput): Promise<ExportResult> {
  const workflowId = workflowInfo().workflowId;
  const problem = readable(() => checkExportInput(given, workflowId, Date.now()));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid export input: ${sentence(problem)}.`, FAILURE.invalidInput);
  const input = withCurrentCounts(given);
  const e: Exporting = {
    input,
    run: new ExportRun(input, workflowId, Date.now()),
    hasSearchAttributes: workflowInfo().typedSearchAttributes.get(searchAttributeKeys.status) !== undefined,
    shareChanges: 0,
  };
  if (patched(PATCHES.rateCeiling)) await underCoordinator(e);
  handleMessages(e);
  let outcome: 'done' | 'continue-as-new';
  try {
    outcome = await pageLoop(e);
  } catch (err) {
    throw await ended(e, err);
  }
  if (outcome === 'continue-as-new') {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof exportResource>(e.run.carry());
  }
  const { run } = e;
  if (input.maxPages !== undefined && run.state.progress.pages >= input.maxPages && !run.state.progress.endOfStreamAt) {
    run.note(`Stopped after ${input.maxPages} page${input.maxPages === 1 ? '' : 's'}, as asked.`);
  }
  recordEnd(e, 'completed');
  await finished(input, run);
  return { outcome: 'completed', state: run.state };
}

/** Queries, and pause, resume and shares: as updates (answered) and as the signals of 0.2.1 and the coordinator. */
function handleMessages(e: Exporting): void {
  const { run } = e;
  setHandler(progressQuery, () => run.state);
  setHandler(exportInputQuery, () => ({ ...e.input, state: undefined }));
  const pause = () => {
    run.state.paused = true;
    e.pages?.cancel(); // The run finishes its page in flight and reports.
  };
  const resume = () => void (run.state.paused = false);
  setHandler(pauseSignal, pause);
  setHandler(resumeSignal, resume);
  setHandler(pauseUpdate, () => (pause(), run.state.status), { validator: noArguments });
  setHandler(resumeUpdate, () => (resume(), run.state.status), { validator: noArguments });
  setHandler(setShareSignal, (share, budget, sends) => {
    if (!Number.isSafeInteger(share) || share < 0 || checkBudget(budget) || checkSends(sends, 'sends')) return;
    run.acceptShare(share, budget, sends ?? [], Date.now());
    e.shareChanges++;
  });
}

function setStatus(e: Exporting, status: ExportStatus, detail = ''): void {
  if (e.run.setStatus(status, Date.now()) && e.hasSearchAttributes) upsertSearchAttributes([{ key: searchAttributeKeys.status, value: status }]);
  setCurrentDetails(e.run.details(detail));
}

/**
 * A durable timer that a pause cuts short, and a new share too when `onShare` (the loop then reckons
 * again). `budget`: a wait for the rate budget or Retry-After, counted in `waitedMs`.
 */
async function wait(e: Exporting, ms: number, summary: string, kind: { onShare?: boolean; budget?: boolean } = {}): Promise<void> {
  const seen = e.shareChanges;
  const started = Date.now();
  const woken = () => e.run.state.paused || (kind.onShare === true && e.shareChanges !== seen);
  if (Number.isFinite(ms)) await condition(woken, ms, { summary });
  else await condition(woken); // Queued: until the coordinator gives a share.
  // Only a planned wait's own length: time the worker was down, or a queue's length, does not count.
  if (kind.budget && Number.isFinite(ms)) e.run.waited(Math.min(Date.now() - started, ms));
}

/** Runs of pages, each when the budget allows, until the export is done or should continue as new. */
async function pageLoop(e: Exporting): Promise<'done' | 'continue-as-new'> {
  const { input, run } = e;
  const maxPagesPerRun = input.maxPagesPerRun ?? DEFAULT_MAX_PAGES_PER_RUN;
  let pagesThisRun = 0;
  for (;;) {
    if (run.state.paused) {
      setStatus(e, 'paused');
      await condition(() => !run.state.paused);
    }
    const waitMs = run.waitMs(Date.now());
    if (waitMs > 0) {
      const { share, budget } = run.state.pace;
      if (waitMs >= SHORT_WAIT_MS) setStatus(e, 'waiting-rate-budget', share ? `${Math.ceil(waitMs / 1000)}s` : 'queued behind other exports of the account');
      await wait(e, waitMs, share ? `waiting for rate budget (${share} per ${budget.seconds}s)` : 'queued: the account budget is in use', { onShare: true, budget: true });
      continue; // The share or the pause may have changed meanwhile.
    }
    if (run.state.status !== 'following' || !patched(PATCHES.quietPolls)) setStatus(e, 'running');
    const request = run.nextRun(Date.now(), maxPagesPerRun - pagesThisRun, patched(PATCHES.sendSchedule));
    const result = await runPages(e, request);
    if (!result) continue; // Paused before the run started.
    pagesThisRun += result.pages;
    if ((await afterRun(e, result)) === 'done') return 'done';
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || pagesThisRun >= maxPagesPerRun) {
      return 'continue-as-new';
    }
  }
}

/** Takes a run's result in, and waits as it decides: Retry-After, a backoff, a follow poll; or says the export is done. */
async function afterRun(e: Exporting, result: FetchPagesResult): Promise<'done' | 'go-on'> {
  const { input, run } = e;
  const { next, tightened } = run.applyRun(result, Date.now());
  if (tightened && input.coordinatorId) {
    void getExternalWorkflowHandle(input.coordinatorId)
      .signal(observedLimitSignal, endpointSpec(run.state.at.endpoint).bucket, tightened.requests)
      .catch(() => undefined);
  }
  if (next.kind === 'retry-after') {
    // Someone else on the account spent the budget: wait exactly as long as Zendesk says.
    setStatus(e, 'waiting-retry-after', `${next.ms / 1000}s`);
    await wait(e, next.ms, `Retry-After ${next.ms / 1000}s (HTTP 429)`, { budget: true });
  } else if (next.kind === 'retry') {
    setStatus(e, 'retrying', `attempt ${run.state.retry!.attempts + 1} in ${next.ms / 1000}s: ${run.state.retry!.message}`);
    await wait(e, next.ms, `retry in ${next.ms / 1000}s after: ${run.state.retry!.message.slice(0, 120)}`);
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
  e.run.limitTo(await rateCeilings());
}

type RunRequest = ReturnType<ExportRun['nextRun']>;

/**
 * One run of pages, in a scope a pause cancels; undefined when the pause came before it started. Any
 * namespace client can complete, fail or cancel the activity by its ID: what does not fit the request
 * or carry the worker's seal is refused, and stands for a failed run that is asked again.
 */
async function runPages(e: Exporting, request: RunRequest): Promise<FetchPagesResult | undefined> {
  const scope = new CancellationScope();
  e.pages = scope;
  const verify = patched(PATCHES.verifyRun);
  const scheduledAt = Date.now();
  // The first run names the export's files' owner (the server gives it, no client); not a command, so no patch.
  const owned = { ...request, firstRunId: workflowInfo().firstExecutionRunId };
  try {
    const pages = runRequests(request);
    const summary = `${e.input.resource}: up to ${pages} page${pages === 1 ? '' : 's'} from ${describePosition(request.at.next)}`;
    // The priority rides in the command that schedules the run: histories recorded without it replay without it.
    const priority = patched(PATCHES.fairRuns) ? { priority: runPriority(e.input.account, e.run.state.progress.endOfStreamAt !== undefined) } : {};
    const result = await scope.run(() => fetchPages.executeWithOptions({ summary, ...priority }, [owned]));
    // A worker of 0.2.1 answers with its count names: read either.
    return withCounts(verify ? await believed(e, owned, result) : result);
  } catch (err) {
    if (isCancellation(err)) {
      // The export itself is cancelled: so is the export. Else a pause cut the run short, or a client cancelled it by ID.
      if (CancellationScope.current().consideredCancelled) throw err;
      return !verify || e.run.state.paused ? undefined : refused(e, owned, 'the run was cancelled, but not by this export');
    }
    if (verify && !(await genuineFailure(owned, err, scheduledAt))) return refused(e, owned, 'the run failed with a failure no worker sealed');
    throw err;
  } finally {
    e.pages = undefined;
  }
}

/** The result, if it fits its request and the worker sealed it (the seal covers it as the worker sent it); else a refused run. */
async function believed(e: Exporting, request: RunRequest, result: FetchPagesResult): Promise<FetchPagesResult> {
  const unfit = readable(() => checkBatchResult(request, result));
  const problem = unfit ? sentence(unfit) : (await isGenuine({ kind: 'result', request, result })) ? undefined : 'it carries no seal of this deployment';
  return problem ? refused(e, request, problem) : result;
}

/** A failure is the worker's when sealed by it, or a timeout once the run's whole time is up (the server's own). */
async function genuineFailure(request: RunRequest, err: unknown, scheduledAt: number): Promise<boolean> {
  if (!(err instanceof ActivityFailure)) return true; // Not the activity's: the workflow's own error.
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    return isGenuine({ kind: 'failure', request, failure: { type: cause.type ?? '', message: cause.message }, seal: cause.details?.[0] });
  }
  return cause instanceof TimeoutFailure && Date.now() - scheduledAt >= RUN_GIVES_UP_MS;
}

function refused(e: Exporting, request: RunRequest, problem: string): FetchPagesResult {
  log.warn('Refused a run result', { workflowId: e.run.exportId, problem });
  return e.run.refusedRun(request, problem);
}

/** The end, readable without a worker: the state and input go into the memo, which describe() returns. */
function recordEnd(e: Exporting, status: ExportStatus, detail = ''): void {
  setStatus(e, status, detail);
  upsertMemo({ [MEMO.state]: e.run.state, [MEMO.input]: { ...e.input, state: undefined } });
}

/** A cancelled or failed export: the coordinator told, the end recorded; the error to end the workflow with. */
async function ended(e: Exporting, err: unknown): Promise<unknown> {
  await finished(e.input, e.run);
  if (isCancellation(err)) {
    recordEnd(e, 'cancelled');
    return err; // Temporal shows the export as cancelled; the memo says where it stopped.
  }
  const failure = describeFailure(err);
  e.run.fail(failure.message, Date.now());
  recordEnd(e, 'failed', failure.message);
  return ApplicationFailure.create({ message: failure.message, type: failure.type, nonRetryable: true });
}

/** The validator of pause and resume, which take nothing: a client that sends more is told so. */
function noArguments(...args: unknown[]): void {
  if (args.length) throw ApplicationFailure.create({ message: 'Pause and resume take no arguments.', type: FAILURE.invalidInput, nonRetryable: true });
}

/** Tells the coordinator the export ended, with its sends of the last window (they still count against the account). */
async function finished(input: ExportInput, run: ExportRun): Promise<void> {
  if (!input.coordinatorId) return;
  const coordinatorId = input.coordinatorId;
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(coordinatorId)
      .signal(exportFinishedSignal, run.exportId, run.state.pace.sent)
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
