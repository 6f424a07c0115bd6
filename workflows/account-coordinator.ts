/**
 * One coordinator per Zendesk account. Zendesk's rate budget belongs to the account, so every export
 * of the account is started here with a share of its bucket's budget; when exports start or finish,
 * or Zendesk reports a lower limit, the shares are divided anew and pushed to each export. Exports
 * pace themselves with their own timers: no page waits on a round trip to the coordinator. The rules
 * live in AccountBudget; this file wires them to signals, child workflows and continue-as-new.
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
  workflowInfo,
} from '@temporalio/workflow';
import { FAILURE } from '../activities/contract';
import type { ExportActivities } from '../activities';
import { endpointSpec, type RateBucket, type RateBudget } from '../zendesk/endpoints';
import { AccountBudget, emptyAccountBudget, type ShareChange } from './account-budget';
import { exportResource } from './export-resource';
import { checkBucket, checkBudget, checkCoordinatorInput, checkExportInput, checkSends, readable } from './export-input';
import { coordinatorWorkflowId, exportWorkflowId } from './ids';
import { coordinatorStateQuery, exportFinishedSignal, observedLimitSignal, setBudgetSignal, setShareSignal, startExportSignal } from './messages';
import { exportSearchAttributes, searchAttributeKeys } from './search-attributes';
import type { CoordinatorInput, ExportInput } from './types';

/** How long an idle coordinator waits for another export before it closes (longer while given-up requests still count). */
const IDLE_CLOSE_MS = 60_000;
const MAX_HISTORY_EVENTS = 5_000;
/** An export that says it ended is asked this often whether it did, for at most CLAIM_GIVE_UP_MS. */
const CLAIM_CHECK_MS = 1000;
const CLAIM_GIVE_UP_MS = 30_000;

/** The operator's rate ceilings, read by each run from the worker, which records them in history. */
const { rateCeilings } = proxyLocalActivities<ExportActivities>({ startToCloseTimeout: '10 seconds' });
/** `rate-ceiling`: budgets within the operator's ceiling; an export's end believed only once the export has closed. */
const PATCHES = { rateCeiling: 'rate-ceiling' } as const;

type Event =
  | { kind: 'start'; input: ExportInput }
  | { kind: 'leave'; workflowId: string; sends: number[] }
  | { kind: 'tighten'; bucket: RateBucket; total: number }
  | { kind: 'budget'; bucket: RateBucket; budget: RateBudget };

export async function accountCoordinator(input: CoordinatorInput): Promise<void> {
  const problem = readable(() => checkCoordinatorInput(input, workflowInfo().workflowId, Date.now()));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid coordinator input: ${problem}.`, FAILURE.invalidInput);
  const { account } = input;
  const budget = new AccountBudget(input.state ?? emptyAccountBudget());
  const inbox: Event[] = [];
  /**
   * Ends that exports claimed (anyone can send exportFinished): an export leaves only once it has
   * closed, which the coordinator checks with the export itself. By workflow ID.
   */
  const claims = new Map<string, { sends: number[]; since: number }>();
  // Exports get search attributes only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(searchAttributeKeys.account) !== undefined;

  // Signals come from any client: each is checked, and a bad one is logged and dropped (a coordinator
  // serves all of its account's exports; one bad signal must not stop them).
  const accept = (event: Event, problem: string | undefined) => (problem ? log.warn('Signal refused', { account, problem }) : void inbox.push(event));
  setHandler(coordinatorStateQuery, () => ({ account, ...budget.state }));
  setHandler(startExportSignal, (exportInput) => {
    const named = !!exportInput && typeof exportInput === 'object' && [exportInput.account, exportInput.resource, exportInput.endpoint].every((v) => typeof v === 'string');
    const problem = !named
      ? 'the input does not name an export'
      : exportInput.account !== account
        ? 'an export of another account is not started here'
        : checkExportInput({ ...exportInput, coordinatorId: undefined }, exportWorkflowId(exportInput.account, exportInput.resource, exportInput.endpoint), Date.now());
    accept({ kind: 'start', input: exportInput }, problem);
  });
  setHandler(exportFinishedSignal, (workflowId, sends) =>
    accept({ kind: 'leave', workflowId, sends: sends ?? [] }, typeof workflowId === 'string' ? checkSends(sends, 'sends') : 'the workflow ID is not text'),
  );
  setHandler(observedLimitSignal, (bucket, total) =>
    accept({ kind: 'tighten', bucket, total }, checkBucket(bucket) ?? (Number.isSafeInteger(total) && total > 0 ? undefined : 'total is not a number')),
  );
  setHandler(setBudgetSignal, (bucket, newBudget) => accept({ kind: 'budget', bucket, budget: newBudget }, checkBucket(bucket) ?? checkBudget(newBudget)));

  /** Whether the export still runs: a signal of its current share reaches only a running export. */
  function isRunning(workflowId: string): Promise<boolean> {
    const member = budget.state.members[workflowId]!;
    return getExternalWorkflowHandle(workflowId)
      .signal(setShareSignal, member.share, budget.budgetOf(member.bucket), [])
      .then(() => true, () => false);
  }

  /** Claimed ends checked with their exports: a closed one leaves; one still running for long was never ending. */
  async function checkClaims(): Promise<void> {
    for (const [workflowId, claim] of [...claims]) {
      if (!budget.has(workflowId)) claims.delete(workflowId);
      else if (!(await isRunning(workflowId))) {
        claims.delete(workflowId);
        await send(budget.leave(workflowId, claim.sends, Date.now()));
      } else if (Date.now() - claim.since >= CLAIM_GIVE_UP_MS) {
        claims.delete(workflowId);
        log.warn('exportFinished refused: the export is running', { account, workflowId });
      }
    }
  }

  /** Sends each change to its export; an export that is gone no longer counts. */
  async function send(changes: readonly ShareChange[], except?: string): Promise<void> {
    for (const c of changes) {
      if (c.workflowId === except) continue;
      const delivered = await getExternalWorkflowHandle(c.workflowId)
        .signal(setShareSignal, c.share, c.budget, c.sends)
        .then(() => true, () => false);
      if (!delivered) await send(budget.leave(c.workflowId, [], Date.now()));
    }
  }

  /** Exports asked for together join together, so none starts with a share it must give up a moment later. */
  async function startExports(inputs: readonly ExportInput[]): Promise<void> {
    const joining = new Map<string, ExportInput>();
    for (const exportInput of inputs) {
      const workflowId = exportWorkflowId(exportInput.account, exportInput.resource, exportInput.endpoint);
      if (joining.has(workflowId)) continue;
      if (budget.has(workflowId)) {
        // Running already, unless it ended without saying so (terminated): a signal tells which.
        if (await isRunning(workflowId)) continue;
        await send(budget.leave(workflowId, [], Date.now()));
      }
      joining.set(workflowId, exportInput);
    }
    const changes = budget.joinAll(
      [...joining].map(([workflowId, i]) => ({ workflowId, bucket: endpointSpec(i.endpoint).bucket, budget: i.budget })),
      Date.now(),
    );
    await send(changes.filter((c) => !joining.has(c.workflowId)));
    for (const own of changes.filter((c) => joining.has(c.workflowId))) {
      const exportInput = joining.get(own.workflowId)!;
      try {
        await startChild(exportResource, {
          workflowId: own.workflowId,
          // The share rides in the input, so the export never runs a moment at the full budget.
          args: [{ ...exportInput, budget: own.budget, share: own.share, initialSends: own.sends, coordinatorId: coordinatorWorkflowId(account) }],
          // Exports outlive a coordinator that continues as new.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: hasSearchAttributes ? exportSearchAttributes(exportInput) : undefined,
          staticSummary: `Zendesk ${account}: ${exportInput.resource} via ${exportInput.endpoint}`,
        });
      } catch (err) {
        log.warn('Export did not start', { workflowId: own.workflowId, error: (err as Error).message });
        await send(budget.leave(own.workflowId, [], Date.now()));
      }
    }
  }

  /** Handles what came in, in order; starts next to each other are handled together. */
  async function handle(events: Event[]): Promise<void> {
    for (let i = 0; i < events.length; ) {
      const event = events[i]!;
      const now = Date.now();
      if (event.kind === 'start') {
        let j = i;
        while (j < events.length && events[j]!.kind === 'start') j++;
        await startExports(events.slice(i, j).map((e) => (e as Extract<Event, { kind: 'start' }>).input));
        i = j;
        continue;
      }
      if (event.kind === 'leave' && checksEnds) {
        if (budget.has(event.workflowId)) claims.set(event.workflowId, { sends: event.sends, since: now });
      } else if (event.kind === 'leave') await send(budget.leave(event.workflowId, event.sends, now));
      else if (event.kind === 'tighten') await send(budget.tighten(event.bucket, event.total, now));
      else await send(budget.setBudget(event.bucket, event.budget, now));
      i++;
    }
  }

  // The ceilings come from the worker (workflow code cannot read its environment): asked once per run.
  const checksEnds = patched(PATCHES.rateCeiling);
  if (checksEnds) await send(budget.limitTo(await rateCeilings(), Date.now()));

  for (;;) {
    const idle = budget.size === 0;
    const idleFor = Math.max(IDLE_CLOSE_MS, budget.quietAt() - Date.now());
    const woke = await condition(() => inbox.length > 0, claims.size ? CLAIM_CHECK_MS : idle ? idleFor : '1 day');
    if (!woke && budget.size === 0 && inbox.length === 0) return;
    while (inbox.length > 0) await handle(inbox.splice(0));
    if (claims.size) await checkClaims();
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      // Signals that came in meanwhile, and claimed ends, are handled first: a new run would not have them.
      if (inbox.length === 0 && claims.size === 0) await continueAsNew<typeof accountCoordinator>({ account, state: budget.state });
    }
  }
}
