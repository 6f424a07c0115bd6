/**
 * One export: a loop over the pages of one endpoint for one resource of one account. Each page is one
 * fetchPage activity, which writes the records to the destination and returns only positions and
 * counts. The loop waits for its rate budget on workflow timers, sleeps exactly Retry-After on a 429,
 * carries its position across continue-as-new, and can be paused, resumed, cancelled and followed.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  condition,
  continueAsNew,
  allHandlersFinished,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  ActivityCancellationType,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { EMPTY_BOUNDARY } from '../zendesk/boundary';
import { cursorEndpointFor, endpointSpec, type EndpointSpec } from '../zendesk/endpoints';
import { NON_RETRYABLE_ERROR_TYPES } from '../zendesk/errors';
import { describePosition } from '../zendesk/page';
import { searchAttributeKeys } from './search-attributes';
import { exportInputQuery, observedLimitSignal, exportFinishedSignal, pauseSignal, progressQuery, resumeSignal, setShareSignal } from './messages';
import { emptyBucketHold, recordSend, scaleShare, tightenBudget, waitBeforeNextRequest } from './pacing';
import type { ExportInput, ExportResult, ExportState, ExportStatus, FetchPageResult } from './types';

const { fetchPage } = proxyActivities<ReturnType<typeof createActivities>>({
  // One HTTP request and one write; a stalled request is abandoned and retried. The activity
  // heartbeats, so a worker killed mid-page costs at most the heartbeat timeout.
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
  // A cancelled export does not wait for its page: a page written late is overwritten on resume.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/** Pages per run before continuing as new, unless the server suggests it sooner. */
export const DEFAULT_MAX_PAGES_PER_RUN = 1000;

const statusKey = searchAttributeKeys.status;

export function initialState(input: ExportInput, now: number): ExportState {
  return {
    endpoint: input.endpoint,
    position: input.start,
    origin: input.start.startTime,
    status: 'starting',
    paused: false,
    pages: 0,
    records: 0,
    repeatsDropped: 0,
    rateLimited: 0,
    waitedMs: 0,
    boundary: EMPTY_BOUNDARY,
    sent: [...(input.initialSends ?? [])],
    notBefore: 0,
    share: input.share ?? input.budget.requests,
    budget: input.budget,
    perPage: input.options?.perPage,
    startedAt: now,
    updatedAt: now,
    notes: [],
  };
}

export async function exportResource(input: ExportInput): Promise<ExportResult> {
  const state: ExportState = input.state
    ? { ...input.state, status: input.state.paused ? 'paused' : 'running', error: undefined }
    : initialState(input, Date.now());
  // A resumed export takes the share it is given now, not the one it had.
  if (input.state && input.share !== undefined) {
    state.share = input.share;
    state.sent = [...state.sent, ...(input.initialSends ?? [])].sort((a, b) => a - b);
  }
  // Search attributes are kept up to date only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(statusKey) !== undefined;

  setHandler(progressQuery, () => state);
  setHandler(exportInputQuery, () => ({ ...input, state: undefined }));
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(setShareSignal, (share, budget, sends) => {
    state.share = share;
    state.budget = budget;
    state.sent = [...state.sent, ...sends].sort((a, b) => a - b).slice(-Math.max(1, share));
  });

  function setStatus(status: ExportStatus, detail = ''): void {
    if (status !== state.status && hasSearchAttributes) upsertSearchAttributes([{ key: statusKey, value: status }]);
    state.status = status;
    state.updatedAt = Date.now();
    setCurrentDetails(
      `**${input.resource}** via ${state.endpoint} — ${status}${detail ? ` (${detail})` : ''}\n\n` +
        `${state.pages} pages, ${state.records} records; at ${describePosition(state.position)}` +
        (state.notes.length ? `\n\n${state.notes.join('\n\n')}` : ''),
    );
  }

  let continuing = false;
  try {
    await pageLoop(input, state, setStatus);
    setStatus('completed');
    return { outcome: 'completed', state };
  } catch (err) {
    if (err instanceof ContinueAsNew) {
      continuing = true;
      throw err;
    }
    if (isCancellation(err)) {
      setStatus('cancelled');
      return { outcome: 'cancelled', state };
    }
    const cause = rootCause(err);
    state.error = cause.message;
    setStatus('failed', cause.message);
    throw ApplicationFailure.create({ message: cause.message, type: cause.type, nonRetryable: true, details: [state.position] });
  } finally {
    if (!continuing && input.coordinatorId) {
      const coordinatorId = input.coordinatorId;
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(coordinatorId)
          .signal(exportFinishedSignal, workflowInfo().workflowId)
          .catch(() => undefined), // The coordinator may be gone; nothing depends on it now.
      );
    }
  }
}

async function pageLoop(input: ExportInput, state: ExportState, setStatus: (s: ExportStatus, d?: string) => void) {
  let pagesThisRun = 0;
  for (;;) {
    if (state.paused) {
      setStatus('paused');
      await condition(() => !state.paused);
    }
    const wait = waitBeforeNextRequest(state, Date.now());
    if (wait > 0) {
      setStatus('waiting-rate-budget', `${Math.ceil(wait / 1000)}s`);
      const started = Date.now();
      await pausable(state, wait, `waiting for rate budget (${state.share} per ${state.budget.seconds}s)`);
      state.waitedMs += Date.now() - started;
      continue; // The share or the pause may have changed meanwhile.
    }
    setStatus('running');
    const endpoint = endpointSpec(state.endpoint);
    const pageNumber = state.pages + 1;
    const result: FetchPageResult = await fetchPage.executeWithOptions(
      { summary: `${input.resource} page ${pageNumber} from ${describePosition(state.position)}` },
      [
        {
          account: input.account,
          resource: input.resource,
          endpoint: state.endpoint,
          position: state.position,
          options: { ...input.options, perPage: state.perPage },
          destination: input.destination,
          origin: state.origin,
          pageNumber,
          boundary: state.boundary,
          exportId: workflowInfo().workflowId,
        },
      ],
    );
    pagesThisRun++;

    if (result.kind === 'rate-limited') {
      // Someone else on the account spent the budget: wait exactly as long as Zendesk says.
      state.rateLimited++;
      setStatus('waiting-retry-after', `${result.retryAfterSeconds}s`);
      // Kept as a not-before time too, so a pause during the wait does not shorten it.
      state.notBefore = Math.max(state.notBefore, Date.now() + result.retryAfterSeconds * 1000);
      const started = Date.now();
      await pausable(state, result.retryAfterSeconds * 1000, `Retry-After ${result.retryAfterSeconds}s (HTTP 429)`);
      state.waitedMs += Date.now() - started;
      continue;
    }

    // On the workflow clock, and no earlier than the request really left (see fetchPage).
    const sentAt = Date.now() - result.sinceSentMs;
    // Failed attempts are counted too, at this send's time (no earlier than they really were).
    state.sent = recordSend(state, sentAt, 1 + (result.earlierAttempts ?? 0));
    let endOfStream = true;
    if (result.kind === 'page') {
      state.pages = pageNumber;
      state.records += result.written;
      state.repeatsDropped += result.repeats;
      state.boundary = result.boundary;
      applyRateLimitHeaders(input, state, endpoint, result, sentAt);
      const stuck = endpoint.paging === 'time' && !result.endOfStream && result.next.startTime <= state.position.startTime;
      state.position = result.next;
      endOfStream = result.endOfStream;
      if (stuck) escapeStuckSecond(input, state, endpoint);
    }
    // A 422 "Too recent start_time" means caught up, exactly like end_of_stream.
    if (endOfStream) {
      state.endOfStreamAt = Date.now();
      if (input.followIntervalSeconds === undefined) return;
      setStatus('following', `next poll in ${input.followIntervalSeconds}s`);
      await pausable(state, input.followIntervalSeconds * 1000, `follow: poll again in ${input.followIntervalSeconds}s`);
    }
    if (workflowInfo().continueAsNewSuggested || pagesThisRun >= (input.maxPagesPerRun ?? DEFAULT_MAX_PAGES_PER_RUN)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof exportResource>({ ...input, state });
    }
  }
}

/** A durable timer that a pause cuts short (the loop then waits for resume and reckons again). */
async function pausable(state: ExportState, ms: number, summary: string): Promise<void> {
  await condition(() => state.paused, ms, { summary });
}

/** Zendesk's bucket header slows the pace before a 429 can happen. */
function applyRateLimitHeaders(
  input: ExportInput,
  state: ExportState,
  endpoint: EndpointSpec,
  result: Extract<FetchPageResult, { kind: 'page' }>,
  sentAt: number,
): void {
  const { total, remaining, resetsSeconds } = result.rateLimit;
  const tightened = tightenBudget(state.budget, total);
  if (tightened !== state.budget) {
    state.share = scaleShare(state.share, state.budget, tightened);
    state.budget = tightened;
    state.notes.push(`Zendesk reports a budget of ${tightened.requests} per ${tightened.seconds}s for ${endpoint.bucket}; pacing to it.`);
    if (input.coordinatorId) {
      void getExternalWorkflowHandle(input.coordinatorId)
        .signal(observedLimitSignal, endpoint.bucket, tightened.requests)
        .catch(() => undefined);
    }
  }
  const hold = remaining === 0 && resetsSeconds !== undefined ? emptyBucketHold(state, sentAt, resetsSeconds) : undefined;
  if (hold !== undefined) state.notBefore = Math.max(state.notBefore, hold);
}

/**
 * More records share one second than a page holds, and Zendesk did not grow the page: the same
 * start_time would come back forever. Leave without losing a record: switch to the cursor endpoint
 * where one exists (it pages by (second, id)), else grow the page, else stop with a clear message.
 * The boundary already holds the versions written at that second, so nothing is written twice.
 */
function escapeStuckSecond(input: ExportInput, state: ExportState, endpoint: EndpointSpec): void {
  const second = state.position.startTime;
  const cursor = input.endpoint === 'sample' ? undefined : cursorEndpointFor(input.resource);
  if (cursor) {
    state.notes.push(
      `More ${input.resource} share second ${second} than one page holds; switched from ${endpoint.id} to ${cursor.id}, which pages within a second.`,
    );
    log.warn('Time-based export stuck on one second; switching to the cursor endpoint', { second, to: cursor.id });
    state.endpoint = cursor.id;
    state.position = { kind: 'cursor', startTime: second, cursor: null };
    return;
  }
  const perPage = state.perPage ?? endpoint.maxPerPage;
  if (perPage < endpoint.maxPerPage) {
    state.perPage = Math.min(endpoint.maxPerPage, perPage * 2);
    state.notes.push(`More ${input.resource} share second ${second} than ${perPage} per page; asking for ${state.perPage} per page.`);
    return;
  }
  throw ApplicationFailure.create({
    type: 'ZendeskStuckError',
    nonRetryable: true,
    message:
      `More than ${perPage} ${input.resource} share second ${second} and Zendesk's ${endpoint.id} endpoint cannot page within one second; ` +
      `stopped at start_time ${second} rather than skip records.`,
  });
}

/** The innermost failure, whose message is Zendesk's (ActivityFailure → ApplicationFailure). */
function rootCause(err: unknown): { message: string; type: string } {
  let e = err as { cause?: unknown; message?: string; type?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return { message: e?.message ?? String(err), type: e?.type ?? 'ExportFailed' };
}
