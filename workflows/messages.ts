/** Signals and queries of the export and coordinator workflows. Clients import these, never the names. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RateBucket, RateBudget } from '../zendesk/endpoints';
import type { AccountBudgetState } from './account-budget';
import type { ExportInput, ExportState } from './types';

// --- Export ---
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** The export's state: position, counts, status. Works on running and closed exports (with a worker up). */
export const progressQuery = defineQuery<ExportState>('progress');
/** The export's input (without its state): what a resumed export starts again with. */
export const exportInputQuery = defineQuery<ExportInput>('exportInput');
/** From the coordinator: this export's share of the bucket's budget, and sends of others that still count. */
export const setShareSignal = defineSignal<[share: number, budget: RateBudget, sends: number[]]>('setShare');

// --- Coordinator ---
export const startExportSignal = defineSignal<[input: ExportInput]>('startExport');
/** From an export that ended: its workflow ID and its sends of the last window, which still count against the account. */
export const exportFinishedSignal = defineSignal<[workflowId: string, sends?: number[]]>('exportFinished');
/** A bucket header reported a lower total than the budget: tighten for everyone. */
export const observedLimitSignal = defineSignal<[bucket: RateBucket, total: number]>('observedLimit');
/** A new budget for a bucket of the account (`zendesk-export budget`). */
export const setBudgetSignal = defineSignal<[bucket: RateBucket, budget: RateBudget]>('setBudget');
export const coordinatorStateQuery = defineQuery<AccountBudgetState & { account: string }>('coordinatorState');
