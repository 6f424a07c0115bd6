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
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { FAILURE } from '../activities/contract';
import { endpointSpec, type RateBucket, type RateBudget } from '../zendesk/endpoints';
import { AccountBudget, emptyAccountBudget, type ShareChange } from './account-budget';
import { exportResource } from './export-resource';
import { checkBucket, checkBudgetChange, checkCoordinatorInput, checkExportRequest, checkSends } from '../contract/export';
import { isWhole, problem as problemOf, readable, sentence, type Problem } from '../contract/problem';
import { coordinatorWorkflowId, exportWorkflowId } from './ids';
import { coordinatorStateQuery, exportFinishedSignal, observedLimitSignal, setBudgetSignal, setShareSignal, startExportSignal } from './messages';
import { exportSearchAttributes, searchAttributeKeys } from './search-attributes';
import type { CoordinatorInput, ExportInput } from './types';

/** How long an idle coordinator waits for another export before it closes (longer while given-up requests still count). */
const IDLE_CLOSE_MS = 60_000;
const MAX_HISTORY_EVENTS = 5_000;

type Event =
  | { kind: 'start'; input: ExportInput }
  | { kind: 'leave'; workflowId: string; sends: number[] }
  | { kind: 'tighten'; bucket: RateBucket; total: number }
  | { kind: 'budget'; bucket: RateBucket; budget: RateBudget };

export async function accountCoordinator(input: CoordinatorInput): Promise<void> {
  const problem = readable(() => checkCoordinatorInput(input, workflowInfo().workflowId));
  if (problem) throw ApplicationFailure.nonRetryable(`Invalid coordinator input: ${sentence(problem)}.`, FAILURE.invalidInput);
  const { account } = input;
  const budget = new AccountBudget(input.state ?? emptyAccountBudget());
  const inbox: Event[] = [];
  // Exports get search attributes only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(searchAttributeKeys.account) !== undefined;

  // Signals come from any client: each is checked, and a bad one is logged and dropped (a coordinator
  // serves all of its account's exports; one bad signal must not stop them).
  const accept = (event: Event, problem: Problem | undefined) => (problem ? log.warn('Signal refused', { account, problem: sentence(problem) }) : void inbox.push(event));
  setHandler(coordinatorStateQuery, () => ({ account, ...budget.state }));
  setHandler(startExportSignal, (exportInput) => accept({ kind: 'start', input: exportInput }, readable(() => checkExportRequest(exportInput, account))));
  setHandler(exportFinishedSignal, (workflowId, sends) =>
    accept({ kind: 'leave', workflowId, sends: sends ?? [] }, typeof workflowId === 'string' ? checkSends(sends, 'sends') : problemOf('workflowId', 'is not text')),
  );
  setHandler(observedLimitSignal, (bucket, total) =>
    accept({ kind: 'tighten', bucket, total }, checkBucket(bucket) ?? (isWhole(total, 1, Number.MAX_SAFE_INTEGER) ? undefined : problemOf('total', 'is not a number'))),
  );
  setHandler(setBudgetSignal, (bucket, newBudget) => accept({ kind: 'budget', bucket, budget: newBudget }, checkBudgetChange(bucket, newBudget)));

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
        const member = budget.state.members[workflowId]!;
        const alive = await getExternalWorkflowHandle(workflowId)
          .signal(setShareSignal, member.share, budget.budgetOf(member.bucket), [])
          .then(() => true, () => false);
        if (alive) continue;
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
      if (event.kind === 'leave') await send(budget.leave(event.workflowId, event.sends, now));
      else if (event.kind === 'tighten') await send(budget.tighten(event.bucket, event.total, now));
      else await send(budget.setBudget(event.bucket, event.budget, now));
      i++;
    }
  }

  for (;;) {
    const idle = budget.size === 0;
    const idleFor = Math.max(IDLE_CLOSE_MS, budget.quietAt() - Date.now());
    const woke = await condition(() => inbox.length > 0, idle ? idleFor : '1 day');
    if (!woke && budget.size === 0 && inbox.length === 0) return;
    while (inbox.length > 0) await handle(inbox.splice(0));
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      // Signals that came in meanwhile are handled first: a new run would not have them.
      if (inbox.length === 0) await continueAsNew<typeof accountCoordinator>({ account, state: budget.state });
    }
  }
}
