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
import { checkBatchResult } from '../contract/batch-result';
import { endpointSpec } from '../zendesk/endpoints';
import { describePosition } from '../zendesk/page';
import { checkBudget, checkExportInput, checkSends, readable } from './export-input';
import { ExportRun } from './export-run';
import { MEMO, coordinatorWorkflowId } from './ids';
import { exportFinishedSignal, exportInputQuery, observedLimitSignal, pauseSignal, progressQuery, resumeSignal, setShareSignal } from './messages';
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
  // A pause or cancel lets the page in flight finish, and the run reports what it wrote.
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
 */
const PATCHES = { sendSchedule: 'send-schedule', verifyRun: 'verify-run', rateCeiling: 'rate-ceiling' } as const;

/** Pages per run of the workflow before continuing as new, unless the server suggests it sooner. */
export const DEFAULT_MAX_PAGES_PER_RUN = 1000;
/** History events per run before continuing as new (a follow export adds a few per poll, for months). */
export const MAX_HISTORY_EVENTS = 2000;
/** Waits shorter than this do not flip the status search attribute (a write per page nobody reads). */
const SHORT_WAIT_MS = 2000;

export async function exportResource(input: ExportInput): Promise<ExportResult> {
  const workflowId = workflowInfo().workflowId;
  const problem = readable(() => checkExportInput(input, workflowId, Date.now()));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid export input: ${problem}.`, FAILURE.invalidInput);
  const run = new ExportRun(input, workflowId, Date.now());
  if (patched(PATCHES.rateCeiling)) {
    // Only the coordinator keeps the account within its budget: an export a client started alone would not.
    if (workflowInfo().parent?.workflowId !== coordinatorWorkflowId(input.account)) {
      throw ApplicationFailure.nonRetryable(
        `Invalid export input: an export runs only when its account's coordinator starts it (zendesk-export start, or ExportClient), so that it keeps within the account's budget.`,
        FAILURE.invalidInput,
      );
    }
    run.limitTo(await rateCeilings());
  }
  // Search attributes are kept up to date only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(searchAttributeKeys.status) !== undefined;
  const control = { pages: undefined as CancellationScope | undefined, shareChanges: 0 };

  setHandler(progressQuery, () => run.state);
  setHandler(exportInputQuery, () => ({ ...input, state: undefined }));
  setHandler(pauseSignal, () => {
    run.state.paused = true;
    control.pages?.cancel(); // The run finishes its page in flight and reports.
  });
  setHandler(resumeSignal, () => void (run.state.paused = false));
  setHandler(setShareSignal, (share, budget, sends) => {
    if (!Number.isSafeInteger(share) || share < 0 || checkBudget(budget) || checkSends(sends, 'sends')) return;
    run.acceptShare(share, budget, sends ?? [], Date.now());
    control.shareChanges++;
  });

  function setStatus(status: ExportStatus, detail = ''): void {
    if (run.setStatus(status, Date.now()) && hasSearchAttributes) upsertSearchAttributes([{ key: searchAttributeKeys.status, value: status }]);
    setCurrentDetails(run.details(detail));
  }

  /**
   * A durable timer that a pause cuts short, and a new share too when `onShare` (the loop then reckons
   * again). `budget`: a wait for the rate budget or Retry-After, counted in `waitedMs`.
   */
  async function wait(ms: number, summary: string, kind: { onShare?: boolean; budget?: boolean } = {}): Promise<void> {
    const seen = control.shareChanges;
    const started = Date.now();
    const woken = () => run.state.paused || (kind.onShare === true && control.shareChanges !== seen);
    if (Number.isFinite(ms)) await condition(woken, ms, { summary });
    else await condition(woken); // Queued: until the coordinator gives a share.
    // Only a planned wait's own length: time the worker was down, or a queue's length, does not count.
    if (kind.budget && Number.isFinite(ms)) run.waited(Math.min(Date.now() - started, ms));
  }

  async function pageLoop(): Promise<'done' | 'continue-as-new'> {
    const maxPagesPerRun = input.maxPagesPerRun ?? DEFAULT_MAX_PAGES_PER_RUN;
    let pagesThisRun = 0;
    for (;;) {
      if (run.state.paused) {
        setStatus('paused');
        await condition(() => !run.state.paused);
      }
      const waitMs = run.waitMs(Date.now());
      if (waitMs > 0) {
        const { share, budget } = run.state.pace;
        if (waitMs >= SHORT_WAIT_MS) setStatus('waiting-rate-budget', share ? `${Math.ceil(waitMs / 1000)}s` : 'queued behind other exports of the account');
        await wait(waitMs, share ? `waiting for rate budget (${share} per ${budget.seconds}s)` : 'queued: the account budget is in use', { onShare: true, budget: true });
        continue; // The share or the pause may have changed meanwhile.
      }
      setStatus('running');
      const request = run.nextRun(Date.now(), maxPagesPerRun - pagesThisRun, patched(PATCHES.sendSchedule));
      const result = await runPages(request);
      if (!result) continue; // Paused before the run started.
      const { next, tightened } = run.applyRun(result, Date.now());
      pagesThisRun += result.pages;
      if (tightened && input.coordinatorId) {
        void getExternalWorkflowHandle(input.coordinatorId)
          .signal(observedLimitSignal, endpointSpec(run.state.at.endpoint).bucket, tightened.requests)
          .catch(() => undefined);
      }
      if (next.kind === 'retry-after') {
        // Someone else on the account spent the budget: wait exactly as long as Zendesk says.
        setStatus('waiting-retry-after', `${next.ms / 1000}s`);
        await wait(next.ms, `Retry-After ${next.ms / 1000}s (HTTP 429)`, { budget: true });
      } else if (next.kind === 'retry') {
        setStatus('retrying', `attempt ${run.state.retry!.attempts + 1} in ${next.ms / 1000}s: ${run.state.retry!.message}`);
        await wait(next.ms, `retry in ${next.ms / 1000}s after: ${run.state.retry!.message.slice(0, 120)}`);
      } else if (next.kind === 'give-up') {
        throw ApplicationFailure.nonRetryable(next.message, next.type);
      } else if (next.kind === 'enough') {
        return 'done';
      } else if (next.kind === 'caught-up') {
        if (input.followIntervalSeconds === undefined) return 'done';
        setStatus('following', `next poll in ${input.followIntervalSeconds}s`);
        await wait(input.followIntervalSeconds * 1000, `follow: poll again in ${input.followIntervalSeconds}s`);
      }
      const info = workflowInfo();
      if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || pagesThisRun >= maxPagesPerRun) {
        return 'continue-as-new';
      }
    }
  }

  /**
   * One run of pages, in a scope a pause cancels; undefined when the pause came before it started. Any
   * namespace client can complete, fail or cancel the activity by its ID: what does not fit the request
   * or carry the worker's seal is refused, and stands for a failed run that is asked again.
   */
  async function runPages(request: ReturnType<ExportRun['nextRun']>): Promise<FetchPagesResult | undefined> {
    const scope = new CancellationScope();
    control.pages = scope;
    const verify = patched(PATCHES.verifyRun);
    const scheduledAt = Date.now();
    try {
      const pages = runRequests(request);
      const summary = `${input.resource}: up to ${pages} page${pages === 1 ? '' : 's'} from ${describePosition(request.at.next)}`;
      const result = await scope.run(() => fetchPages.executeWithOptions({ summary }, [request]));
      return verify ? await believed(request, result) : result;
    } catch (err) {
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled) {
        return !verify || run.state.paused ? undefined : refused(request, 'the run was cancelled, but not by this export');
      }
      if (verify && !(await genuineFailure(request, err, scheduledAt))) return refused(request, 'the run failed with a failure no worker sealed');
      throw err;
    } finally {
      control.pages = undefined;
    }
  }

  async function believed(request: ReturnType<ExportRun['nextRun']>, result: FetchPagesResult): Promise<FetchPagesResult> {
    const problem = readable(() => checkBatchResult(request, result)) ?? ((await isGenuine({ kind: 'result', request, result })) ? undefined : 'it carries no seal of this deployment');
    return problem ? refused(request, problem) : result;
  }

  /** A failure is the worker's when sealed by it, or a timeout once the run's whole time is up (the server's own). */
  async function genuineFailure(request: ReturnType<ExportRun['nextRun']>, err: unknown, scheduledAt: number): Promise<boolean> {
    if (!(err instanceof ActivityFailure)) return true; // Not the activity's: the workflow's own error.
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      return isGenuine({ kind: 'failure', request, failure: { type: cause.type ?? '', message: cause.message }, seal: cause.details?.[0] });
    }
    return cause instanceof TimeoutFailure && Date.now() - scheduledAt >= RUN_GIVES_UP_MS;
  }

  function refused(request: ReturnType<ExportRun['nextRun']>, problem: string): FetchPagesResult {
    log.warn('Refused a run result', { workflowId, problem });
    return run.refusedRun(request, problem);
  }

  /** The end, readable without a worker: the state and input go into the memo, which describe() returns. */
  function recordEnd(status: ExportStatus, detail = ''): void {
    setStatus(status, detail);
    upsertMemo({ [MEMO.state]: run.state, [MEMO.input]: { ...input, state: undefined } });
  }

  let outcome: 'done' | 'continue-as-new';
  try {
    outcome = await pageLoop();
  } catch (err) {
    await finished(input, run);
    if (isCancellation(err)) {
      recordEnd('cancelled');
      throw err; // Temporal shows the export as cancelled; the memo says where it stopped.
    }
    const failure = describeFailure(err);
    run.fail(failure.message, Date.now());
    recordEnd('failed', failure.message);
    throw ApplicationFailure.create({ message: failure.message, type: failure.type, nonRetryable: true });
  }
  if (outcome === 'continue-as-new') {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof exportResource>(run.carry());
  }
  if (input.maxPages !== undefined && run.state.progress.pages >= input.maxPages && !run.state.progress.endOfStreamAt) {
    run.note(`Stopped after ${input.maxPages} page${input.maxPages === 1 ? '' : 's'}, as asked.`);
  }
  recordEnd('completed');
  await finished(input, run);
  return { outcome: 'completed', state: run.state };
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
  let e = err as { cause?: unknown; message?: string; type?: string; timeoutType?: unknown } | undefined;
  let timedOut = false;
  while (e?.cause) {
    if (e.timeoutType !== undefined) timedOut = true;
    e = e.cause as typeof e;
  }
  if (e?.timeoutType !== undefined) timedOut = true;
  const message = e?.message ?? String(err);
  if (timedOut) return { message: `Gave up after a day of failed attempts: ${message}`, type: e?.type ?? FAILURE.unexpected };
  return { message, type: e?.type ?? FAILURE.unexpected };
}
