/**
 * One coordinator per Zendesk account. Zendesk's rate budget belongs to the account, so every export
 * of the account is started here with a share of its bucket's budget; when exports start or finish,
 * or Zendesk reports a lower limit, the shares are divided anew and pushed to each export. Exports
 * pace themselves with their own timers: no page waits on a round trip to the coordinator. The rules
 * live in AccountBudget; this file wires them to updates, signals, child workflows and continue-as-new.
 *
 * Starts and budget changes are updates: the validator refuses a bad one with a sentence the caller
 * receives, a start's destination is checked on the worker before the export waits for any budget,
 * and the caller is answered once the export runs. The signals of 0.2.1 still work, unanswered.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { checkBudgetChange, checkCoordinatorInput, checkExportRequest, checkSends, checkBucket, type DestinationRef } from '../contract/export';
import { FAILURE, NON_RETRYABLE_FAILURES } from '../contract/page-activity';
import { isWhole, problem as problemOf, readable, sentence, type Problem } from '../contract/problem';
import { nextShareSeq, shareGrant } from '../contract/share';
import type { ExportActivities } from '../activities';
import { endpointSpec, type RateBucket, type RateBudget } from '../zendesk/endpoints';
import { AccountBudget, emptyAccountBudget, type ShareChange } from './account-budget';
import { exportResource } from './export-resource';
import { coordinatorWorkflowId, exportWorkflowId, MEMO } from './ids';
import {
  coordinatorStateQuery,
  exportFinishedSignal,
  observedLimitSignal,
  setBudgetSignal,
  setBudgetUpdate,
  setShareSignal,
  startExportSignal,
  startExportUpdate,
  type ExportStarted,
} from './messages';
import { exportSearchAttributes, searchAttributeKeys } from './search-attributes';
import type { CoordinatorInput, ExportInput } from './types';

/** How long an idle coordinator waits for another export before it closes (longer while given-up requests still count). */
const IDLE_CLOSE_MS = 60_000;
const MAX_HISTORY_EVENTS = 5_000;

/** An export that says it ended is asked this often whether it did, for at most CLAIM_GIVE_UP_MS. */
const CLAIM_CHECK_MS = 1000;
const CLAIM_GIVE_UP_MS = 30_000;

const { checkDestination } = proxyLocalActivities<ExportActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});
/**
 * The operator's rate ceilings, read by each run from the worker; and the seals on the shares this
 * coordinator hands out (only workers hold the key). The worker records both in history.
 */
const { rateCeilings, sealShares } = proxyLocalActivities<ExportActivities>({ startToCloseTimeout: '10 seconds' });
/**
 * `rate-ceiling`: budgets within the operator's ceiling; an export's end believed only once the export
 * has closed. `sealed-shares`: every share is numbered and sealed, and exports take only sealed ones.
 */
const PATCHES = { rateCeiling: 'rate-ceiling', sealedShares: 'sealed-shares' } as const;

/** Where an update's caller waits for its answer: set once the event is handled. */
interface Ticket {
  answer?: { started: ExportStarted } | { error: string } | { done: true };
}

type Event =
  | { kind: 'start'; input: ExportInput; ticket?: Ticket }
  | { kind: 'leave'; workflowId: string; sends: number[] }
  | { kind: 'tighten'; bucket: RateBucket; total: number }
  | { kind: 'budget'; bucket: RateBucket; budget: RateBudget; ticket?: Ticket };

/** One coordinator's wiring: its account, its budget, and what came in and waits to be handled. */
interface Coordinator {
  account: string;
  budget: AccountBudget;
  inbox: Event[];
  /** Exports get search attributes only where the starter registered them (not in unit tests). */
  hasSearchAttributes: boolean;
  /**
   * Ends that exports claimed (anyone can send exportFinished): with `checksEnds`, an export leaves only
   * once it has closed, which the coordinator checks with the export itself. By workflow ID.
   */
  claims: Map<string, { sends: number[]; since: number }>;
  checksEnds: boolean;
  /** Shares go out numbered and sealed (contract/share.ts); the number of the last one. */
  sealsShares: boolean;
  shareSeq: number;
}

export async function accountCoordinator(input: CoordinatorInput): Promise<void> {
  const problem = readable(() => checkCoordinatorInput(input, workflowInfo().workflowId, Date.now()));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid coordinator input: ${sentence(problem)}.`, FAILURE.invalidInput);
  const c: Coordinator = {
    account: input.account,
    budget: new AccountBudget(input.state ?? emptyAccountBudget()),
    inbox: [],
    hasSearchAttributes: workflowInfo().typedSearchAttributes.get(searchAttributeKeys.account) !== undefined,
    claims: new Map(),
    checksEnds: false,
    sealsShares: false,
    shareSeq: input.shareSeq ?? 0,
  };
  setHandler(coordinatorStateQuery, () => ({ account: c.account, ...c.budget.state }));
  handleUpdates(c);
  handleSignals(c);
  await serve(c);
}

/** Starts and budget changes, answered: the validator refuses what the contract refuses, in one sentence. */
function handleUpdates(c: Coordinator): void {
  setHandler(
    startExportUpdate,
    async (exportInput) => {
      await checkDestinationOnWorker(exportInput.destination);
      return await answered<ExportStarted>(c, (ticket) => ({ kind: 'start', input: exportInput, ticket }));
    },
    { validator: (exportInput) => refuse(readable(() => checkExportRequest(exportInput, c.account, Date.now()))) },
  );
  setHandler(setBudgetUpdate, (bucket, budget) => answered<void>(c, (ticket) => ({ kind: 'budget', bucket, budget, ticket })), {
    validator: (bucket, budget) => refuse(readable(() => checkBudgetChange(bucket, budget))),
  });
}

/** The signals of 0.2.1 and those exports send: any client may send them, so each is checked, and a bad one is logged and dropped (one bad signal must not stop the account's exports). */
function handleSignals(c: Coordinator): void {
  const accept = (event: Event, problem: Problem | undefined) =>
    problem ? log.warn('Signal refused', { account: c.account, problem: sentence(problem) }) : void c.inbox.push(event);
  setHandler(startExportSignal, (exportInput) => accept({ kind: 'start', input: exportInput }, readable(() => checkExportRequest(exportInput, c.account, Date.now()))));
  setHandler(exportFinishedSignal, (workflowId, sends) =>
    accept({ kind: 'leave', workflowId, sends: sends ?? [] }, typeof workflowId === 'string' ? checkSends(sends, 'sends') : problemOf('workflowId', 'is not text')),
  );
  setHandler(observedLimitSignal, (bucket, total) =>
    accept({ kind: 'tighten', bucket, total }, checkBucket(bucket) ?? (isWhole(total, 1, Number.MAX_SAFE_INTEGER) ? undefined : problemOf('total', 'is not a number'))),
  );
  setHandler(setBudgetSignal, (bucket, newBudget) => accept({ kind: 'budget', bucket, budget: newBudget }, checkBudgetChange(bucket, newBudget)));
}

/** A validator's refusal: the caller receives the sentence. */
function refuse(problem: Problem | undefined): void {
  if (problem) throw ApplicationFailure.create({ message: `${sentence(problem)}.`, type: FAILURE.invalidInput, nonRetryable: true });
}

/** Queues an event and waits until it is handled: the update's answer, or its failure in one sentence. */
async function answered<T>(c: Coordinator, event: (ticket: Ticket) => Event): Promise<T> {
  const ticket: Ticket = {};
  c.inbox.push(event(ticket));
  await condition(() => ticket.answer !== undefined);
  const answer = ticket.answer!;
  if ('error' in answer) throw ApplicationFailure.create({ message: answer.error, type: 'ExportNotStarted', nonRetryable: true });
  return ('started' in answer ? answer.started : undefined) as T;
}

/**
 * The worker checks the destination the way the page activity will (inside its output root, a
 * Postgres target it knows), so a bad one is refused now, not after a wait for budget.
 */
async function checkDestinationOnWorker(destination: DestinationRef): Promise<void> {
  try {
    await checkDestination(destination);
  } catch (err) {
    let e = err as { cause?: unknown; message?: string };
    while (e.cause) e = e.cause as typeof e;
    throw ApplicationFailure.create({ message: e.message ?? String(err), type: FAILURE.destinationConfig, nonRetryable: true });
  }
}

/** The main loop: handle what comes in, close when idle, continue as new when history grows. */
async function serve(c: Coordinator): Promise<void> {
  // The ceilings come from the worker (workflow code cannot read its environment): asked once per run.
  c.checksEnds = patched(PATCHES.rateCeiling);
  c.sealsShares = patched(PATCHES.sealedShares);
  if (c.checksEnds) await send(c, c.budget.limitTo(await rateCeilings(), Date.now()));
  for (;;) {
    const idle = c.budget.size === 0;
    const idleFor = Math.max(IDLE_CLOSE_MS, c.budget.quietAt() - Date.now());
    const woke = await condition(() => c.inbox.length > 0, c.claims.size ? CLAIM_CHECK_MS : idle ? idleFor : '1 day');
    if (!woke && c.budget.size === 0 && c.inbox.length === 0) return;
    while (c.inbox.length > 0) await handle(c, c.inbox.splice(0));
    if (c.claims.size) await checkClaims(c);
    // The starts this coordinator was started for are taken in: they no longer show as pending.
    if (workflowInfo().memo?.[MEMO.requested] !== undefined) upsertMemo({ [MEMO.requested]: undefined });
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      // What came in meanwhile, and claimed ends, are handled first: a new run would not have them.
      if (c.inbox.length === 0 && c.claims.size === 0) await continueAsNew<typeof accountCoordinator>({ account: c.account, state: c.budget.state, shareSeq: c.sealsShares ? c.shareSeq : undefined });
    }
  }
}

/** Handles what came in, in order; starts next to each other are handled together. */
async function handle(c: Coordinator, events: Event[]): Promise<void> {
  for (let i = 0; i < events.length; ) {
    const event = events[i]!;
    const now = Date.now();
    if (event.kind === 'start') {
      // Ends claimed before these starts are settled first: a newcomer gets the share a closed export left.
      if (c.claims.size) await checkClaims(c);
      let j = i;
      while (j < events.length && events[j]!.kind === 'start') j++;
      await startExports(c, events.slice(i, j) as Extract<Event, { kind: 'start' }>[]);
      i = j;
      continue;
    }
    if (event.kind === 'leave' && c.checksEnds) {
      if (c.budget.has(event.workflowId)) c.claims.set(event.workflowId, { sends: event.sends, since: now });
    } else if (event.kind === 'leave') await send(c, c.budget.leave(event.workflowId, event.sends, now));
    else if (event.kind === 'tighten') await send(c, c.budget.tighten(event.bucket, event.total, now));
    else {
      await send(c, c.budget.setBudget(event.bucket, event.budget, now));
      if (event.ticket) event.ticket.answer = { done: true };
    }
    i++;
  }
}

/** Sends each change to its export; an export that is gone no longer counts. */
async function send(c: Coordinator, changes: readonly ShareChange[]): Promise<void> {
  const delivered = await signalShares(c, changes);
  for (const [i, change] of changes.entries()) {
    if (!delivered[i]) await send(c, c.budget.leave(change.workflowId, [], Date.now()));
  }
}

/**
 * Signals each change to its export, in order, numbered and sealed together (one local activity) when
 * this run seals shares; whether each reached its export (only a running one takes a signal).
 */
async function signalShares(c: Coordinator, changes: readonly ShareChange[]): Promise<boolean[]> {
  const grants = changes.map((ch) => shareGrant(ch.workflowId, ch.share, ch.budget, ch.sends, numbered(c)));
  const seals = c.sealsShares && grants.length ? await sealShares(grants) : [];
  const delivered: boolean[] = [];
  for (const [i, { exportId, share, budget, sends, seq }] of grants.entries()) {
    const handle = getExternalWorkflowHandle(exportId);
    const signalled = c.sealsShares ? handle.signal(setShareSignal, share, budget, sends, seq, seals[i]) : handle.signal(setShareSignal, share, budget, sends);
    delivered.push(await signalled.then(() => true, () => false));
  }
  return delivered;
}

/** The next share's sequence number. */
function numbered(c: Coordinator): number {
  c.shareSeq = nextShareSeq(c.shareSeq, Date.now());
  return c.shareSeq;
}

/** Exports asked for together join together, so none starts with a share it must give up a moment later. */
async function startExports(c: Coordinator, starts: readonly Extract<Event, { kind: 'start' }>[]): Promise<void> {
  const joining = new Map<string, { input: ExportInput; tickets: Ticket[] }>();
  for (const { input, ticket } of starts) {
    const workflowId = exportWorkflowId(input.account, input.resource, input.endpoint);
    const tickets = ticket ? [ticket] : [];
    const joined = joining.get(workflowId);
    if (joined) joined.tickets.push(...tickets);
    else if (await isRunning(c, workflowId)) answer(tickets, { workflowId, alreadyRunning: true });
    else joining.set(workflowId, { input, tickets });
  }
  const changes = c.budget.joinAll(
    [...joining].map(([workflowId, { input }]) => ({ workflowId, bucket: endpointSpec(input.endpoint).bucket, budget: input.budget })),
    Date.now(),
  );
  await send(c, changes.filter((change) => !joining.has(change.workflowId)));
  for (const own of changes.filter((change) => joining.has(change.workflowId))) {
    const { input, tickets } = joining.get(own.workflowId)!;
    try {
      const child = await startChild(exportResource, {
        workflowId: own.workflowId,
        // The share rides in the input, so the export never runs a moment at the full budget.
        // Its sequence number too: the export takes only later shares, sealed (none from a coordinator that seals none).
        args: [{ ...input, budget: own.budget, share: own.share, initialSends: own.sends, shareSeq: c.sealsShares ? numbered(c) : undefined, coordinatorId: coordinatorWorkflowId(c.account) }],
        // Exports outlive a coordinator that continues as new.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: c.hasSearchAttributes ? exportSearchAttributes(input) : undefined,
        staticSummary: `Zendesk ${c.account}: ${input.resource} via ${input.endpoint}`,
      });
      answer(tickets, { workflowId: own.workflowId, runId: child.firstExecutionRunId, alreadyRunning: false });
    } catch (err) {
      log.warn('Export did not start', { workflowId: own.workflowId, error: (err as Error).message });
      await send(c, c.budget.leave(own.workflowId, [], Date.now()));
      // Started by another client, not through this coordinator: it runs, on its own budget.
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') answer(tickets, { workflowId: own.workflowId, alreadyRunning: true });
      else for (const t of tickets) t.answer = { error: `Export ${own.workflowId} did not start: ${(err as Error).message}` };
    }
  }
}

function answer(tickets: readonly Ticket[], started: ExportStarted): void {
  for (const t of tickets) t.answer = { started };
}

/** A member of the budget still runs, unless it ended without saying so (terminated): a signal tells which. */
async function isRunning(c: Coordinator, workflowId: string): Promise<boolean> {
  if (!c.budget.has(workflowId)) return false;
  const alive = await isAlive(c, workflowId);
  if (!alive) await send(c, c.budget.leave(workflowId, [], Date.now()));
  return alive;
}

/** Whether a member still runs: a signal of its current share reaches only a running export. */
async function isAlive(c: Coordinator, workflowId: string): Promise<boolean> {
  const member = c.budget.state.members[workflowId]!;
  const [delivered] = await signalShares(c, [{ workflowId, share: member.share, budget: c.budget.budgetOf(member.bucket), sends: [] }]);
  return delivered!;
}

/** Claimed ends checked with their exports: a closed one leaves; one still running for long was never ending. */
async function checkClaims(c: Coordinator): Promise<void> {
  for (const [workflowId, claim] of [...c.claims]) {
    if (!c.budget.has(workflowId)) c.claims.delete(workflowId);
    else if (!(await isAlive(c, workflowId))) {
      c.claims.delete(workflowId);
      await send(c, c.budget.leave(workflowId, claim.sends, Date.now()));
    } else if (Date.now() - claim.since >= CLAIM_GIVE_UP_MS) {
      c.claims.delete(workflowId);
      log.warn('exportFinished refused: the export is running', { account: c.account, workflowId });
    }
  }
}
