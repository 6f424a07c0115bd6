/**
 * One coordinator per Zendesk account. Zendesk's rate budget belongs to the account, so every export
 * of the account is started here and gets a share of its bucket's budget; when exports start or
 * finish, or Zendesk reports a lower limit, the shares are divided anew and pushed to each export.
 * Exports pace themselves with their own timers: no page waits on a round trip to the coordinator.
 *
 * Shares move without ever letting the account exceed its budget in any window: shrinking shares
 * are signalled before anyone grows, and requests given up within the last window are handed on
 * as sends the receiver must let age out (see takeReleased).
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
import { endpointSpec, defaultBudget, type RateBucket, type RateBudget } from '../zendesk/endpoints';
import { exportResource } from './export-resource';
import { exportWorkflowId } from './ids';
import { coordinatorStateQuery, exportFinishedSignal, observedLimitSignal, setBudgetSignal, setShareSignal, startExportSignal } from './messages';
import { divideBudget, takeReleased, tightenBudget, type Release } from './pacing';
import { exportSearchAttributes, searchAttributeKeys } from './search-attributes';
import type { CoordinatorInput, CoordinatorMember, ExportInput } from './types';

/** How long an idle coordinator waits for another export before it closes. */
const IDLE_CLOSE_MS = 60_000;
const MAX_EVENTS_PER_RUN = 5_000;

export async function accountCoordinator(input: CoordinatorInput): Promise<void> {
  const budgets: Partial<Record<RateBucket, RateBudget>> = { ...input.budgets };
  const members: Record<string, CoordinatorMember> = { ...input.members };
  const released: Partial<Record<RateBucket, Release[]>> = { ...input.released };
  const pending: ExportInput[] = [];
  const changed = new Set<RateBucket>();
  // Exports get search attributes only where the starter registered them (not in unit tests).
  const hasSearchAttributes = workflowInfo().typedSearchAttributes.get(searchAttributeKeys.account) !== undefined;

  setHandler(coordinatorStateQuery, () => ({ account: input.account, budgets, members, released }));
  setHandler(startExportSignal, (exportInput) => void pending.push(exportInput));
  setHandler(exportFinishedSignal, (workflowId) => {
    const member = members[workflowId];
    if (!member) return;
    delete members[workflowId];
    release(member.bucket, member.share);
    changed.add(member.bucket);
  });
  setHandler(observedLimitSignal, (bucket, total) => {
    const tightened = tightenBudget(budgetOf(bucket), total);
    if (tightened !== budgetOf(bucket)) {
      budgets[bucket] = tightened;
      changed.add(bucket);
    }
  });
  setHandler(setBudgetSignal, (bucket, budget) => {
    budgets[bucket] = budget;
    changed.add(bucket);
  });

  function budgetOf(bucket: RateBucket): RateBudget {
    return budgets[bucket] ?? defaultBudget(bucket);
  }
  function release(bucket: RateBucket, count: number): void {
    if (count > 0) (released[bucket] ??= []).push({ at: Date.now(), count });
  }

  /** Divides the bucket anew among its members plus `newcomer`; returns the newcomer's share and sends. */
  async function rebalance(bucket: RateBucket, newcomer?: string): Promise<{ share: number; sends: number[] } | undefined> {
    const ids = Object.keys(members).filter((id) => members[id]!.bucket === bucket);
    const budget = budgetOf(bucket);
    const shares = divideBudget(budget.requests, newcomer ? [...ids, newcomer] : ids);
    const grows: string[] = [];
    // Shrink first, so no moment has the old and the new shares both in force.
    for (const id of ids) {
      const before = members[id]!.share;
      const after = shares[id]!;
      if (after < before) {
        members[id]!.share = after;
        release(bucket, before - after);
        await signalShare(id, after, budget, []);
      } else if (after > before) grows.push(id);
      else if (changed.has(bucket)) await signalShare(id, after, budget, []);
    }
    const grant = (id: string, before: number) => {
      const taken = takeReleased(released[bucket] ?? [], shares[id]! - before, Date.now(), budget.seconds * 1000);
      released[bucket] = taken.releases;
      return taken.sends;
    };
    for (const id of grows) {
      const sends = grant(id, members[id]!.share);
      members[id]!.share = shares[id]!;
      await signalShare(id, shares[id]!, budget, sends);
    }
    return newcomer ? { share: shares[newcomer]!, sends: grant(newcomer, 0) } : undefined;
  }

  async function signalShare(workflowId: string, share: number, budget: RateBudget, sends: number[]): Promise<void> {
    await getExternalWorkflowHandle(workflowId)
      .signal(setShareSignal, share, budget, sends)
      .catch(() => {
        // Gone without saying so: stop counting it.
        const member = members[workflowId];
        delete members[workflowId];
        if (member) release(member.bucket, member.share);
      });
  }

  async function startExport(exportInput: ExportInput): Promise<void> {
    const workflowId = exportWorkflowId(exportInput.account, exportInput.resource, exportInput.endpoint);
    if (members[workflowId]) return; // Already running: a second start changes nothing.
    const bucket = endpointSpec(exportInput.endpoint).bucket;
    // The first budget given for a bucket stands until someone sets another (setBudget, or Zendesk's header).
    budgets[bucket] ??= exportInput.budget;
    const { share, sends } = (await rebalance(bucket, workflowId))!;
    members[workflowId] = { bucket, share };
    try {
      await startChild(exportResource, {
        workflowId,
        // The share rides in the input, so the export never runs a moment at the full budget.
        args: [{ ...exportInput, budget: budgetOf(bucket), share, initialSends: sends, coordinatorId: workflowInfo().workflowId }],
        // Exports outlive a coordinator that continues as new.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: hasSearchAttributes ? exportSearchAttributes(exportInput) : undefined,
        staticSummary: `Zendesk ${exportInput.account}: ${exportInput.resource} via ${exportInput.endpoint}`,
      });
    } catch (err) {
      log.warn('Export did not start', { workflowId, error: (err as Error).message });
      delete members[workflowId];
      release(bucket, share);
      changed.add(bucket);
    }
  }

  for (;;) {
    const busy = Object.keys(members).length > 0;
    const woke = await condition(() => pending.length > 0 || changed.size > 0, busy ? '1 day' : IDLE_CLOSE_MS);
    if (!woke && Object.keys(members).length === 0 && pending.length === 0) return;

    while (pending.length > 0) await startExport(pending.shift()!);
    for (const bucket of [...changed]) {
      await rebalance(bucket);
      changed.delete(bucket);
    }

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_EVENTS_PER_RUN) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof accountCoordinator>({ account: input.account, budgets, members, released });
    }
  }
}
