/**
 * One coordinator per Zendesk account. Zendesk's rate budget belongs to the account, so every export
 * of the account is started here and gets a share of its bucket's budget; when exports start or
 * finish, or Zendesk reports a lower limit, the shares are divided anew and pushed to each export.
 * Exports pace themselves with their own timers: no page waits on a round trip to the coordinator.
 */
import {
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
import { endpointSpec, RATE_BUCKETS, type RateBucket, type RateBudget } from '../zendesk/endpoints';
import { exportResource } from './export-resource';
import { exportWorkflowId } from './ids';
import { exportSearchAttributes, searchAttributeKeys } from './search-attributes';
import {
  coordinatorStateQuery,
  exportFinishedSignal,
  observedLimitSignal,
  setBudgetSignal,
  setShareSignal,
  startExportSignal,
} from './messages';
import { divideBudget, tightenBudget } from './pacing';
import type { CoordinatorInput, ExportInput } from './types';

/** How long an idle coordinator waits for another export before it closes. */
const IDLE_CLOSE_MS = 60_000;
const MAX_EVENTS_PER_RUN = 5_000;

export async function accountCoordinator(input: CoordinatorInput): Promise<void> {
  const budgets: Partial<Record<RateBucket, RateBudget>> = { ...input.budgets };
  const members: Record<string, RateBucket> = { ...input.members };
  const pending: ExportInput[] = [];
  const changed = new Set<RateBucket>();
  // Exports get search attributes only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(searchAttributeKeys.account) !== undefined;

  setHandler(coordinatorStateQuery, () => ({ account: input.account, budgets, members }));
  setHandler(startExportSignal, (exportInput) => void pending.push(exportInput));
  setHandler(exportFinishedSignal, (workflowId) => {
    const bucket = members[workflowId];
    if (bucket === undefined) return;
    delete members[workflowId];
    changed.add(bucket);
  });
  setHandler(observedLimitSignal, (bucket, total) => {
    const current = budgetOf(bucket);
    const tightened = tightenBudget(current, total);
    if (tightened !== current) {
      budgets[bucket] = tightened;
      changed.add(bucket);
    }
  });
  setHandler(setBudgetSignal, (bucket, budget) => {
    budgets[bucket] = budget;
    changed.add(bucket);
  });

  function budgetOf(bucket: RateBucket): RateBudget {
    return budgets[bucket] ?? RATE_BUCKETS[bucket];
  }
  function sharesOf(bucket: RateBucket): Record<string, number> {
    const ids = Object.keys(members).filter((id) => members[id] === bucket);
    return divideBudget(budgetOf(bucket).requests, ids);
  }

  for (;;) {
    const idle = !(await condition(() => pending.length > 0 || changed.size > 0, Object.keys(members).length ? '1 day' : IDLE_CLOSE_MS));
    if (idle && Object.keys(members).length === 0 && pending.length === 0) return;

    while (pending.length > 0) {
      const exportInput = pending.shift()!;
      const workflowId = exportWorkflowId(exportInput.account, exportInput.resource, exportInput.endpoint);
      if (members[workflowId]) continue; // Already running: a second start changes nothing.
      const bucket = endpointSpec(exportInput.endpoint).bucket;
      // The first budget given for a bucket stands until someone sets another (setBudget, or Zendesk's header).
      budgets[bucket] ??= exportInput.budget;
      members[workflowId] = bucket;
      const share = sharesOf(bucket)[workflowId]!;
      try {
        await startChild(exportResource, {
          workflowId,
          // The starting share rides in the input, so the export never runs a moment at the full budget.
          args: [{ ...exportInput, budget: budgetOf(bucket), share, coordinatorId: workflowInfo().workflowId }],
          // Exports outlive a coordinator that continues as new.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: hasSearchAttributes ? exportSearchAttributes(exportInput) : undefined,
          staticSummary: `Zendesk ${exportInput.account}: ${exportInput.resource} via ${exportInput.endpoint}`,
        });
      } catch (err) {
        log.warn('Export did not start', { workflowId, error: (err as Error).message });
        delete members[workflowId];
      }
      changed.add(bucket);
    }

    for (const bucket of [...changed]) {
      changed.delete(bucket);
      for (const [workflowId, share] of Object.entries(sharesOf(bucket))) {
        await getExternalWorkflowHandle(workflowId)
          .signal(setShareSignal, share, budgetOf(bucket))
          .catch(() => void delete members[workflowId]); // Gone without saying so: stop counting it.
      }
    }

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_EVENTS_PER_RUN) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof accountCoordinator>({ account: input.account, budgets, members });
    }
  }
}
