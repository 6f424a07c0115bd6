/**
 * Signals, updates and queries of the export and coordinator workflows. Clients import these, never
 * the names. Starts, budget changes, pauses and resumes are updates: a validator refuses a bad one and
 * the caller hears why. The signals of 0.2.1 stay, for its clients and the exports it started.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RateBucket, RateBudget } from '../zendesk/endpoints';
import type { AccountBudgetState } from './account-budget';
import type { ExportInput, ExportState, ExportStatus } from './types';

// --- Export ---
/** Pauses after the page in flight; answers the export's status. */
export const pauseUpdate = defineUpdate<ExportStatus, []>('pauseExport');
export const resumeUpdate = defineUpdate<ExportStatus, []>('resumeExport');
/** 0.2.1: as the updates, unanswered. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** The export's state: position, counts, status. Works on running and closed exports (with a worker up). */
export const progressQuery = defineQuery<ExportState>('progress');
/** The export's input (without its state): what a resumed export starts again with. */
export const exportInputQuery = defineQuery<ExportInput>('exportInput');
/**
 * From the coordinator: this export's share of the bucket's budget, and sends of others that still
 * count; with the share's sequence number and the worker's seal over all of it (contract/share.ts),
 * without which an export its coordinator numbers shares for takes none.
 */
export const setShareSignal = defineSignal<[share: number, budget: RateBudget, sends: number[], seq?: number, seal?: string]>('setShare');

// --- Coordinator ---
/** What a start answers: the export runs (started now, or running already). */
export interface ExportStarted {
  workflowId: string;
  /** The run started; none when it was running already. */
  runId?: string;
  alreadyRunning: boolean;
}
/**
 * Start an export with a share of the account's budget. Refused with one sentence when the input is
 * not one (validator) or the worker cannot write to its destination; answered once the export runs.
 */
export const startExportUpdate = defineUpdate<ExportStarted, [input: ExportInput]>('requestExport');
/** A new budget for a bucket of the account (`zendesk-export budget`), answered once the exports have their new shares. */
export const setBudgetUpdate = defineUpdate<void, [bucket: RateBucket, budget: RateBudget]>('changeBudget');
/** 0.2.1: as the updates, unanswered (a bad one is logged and dropped). */
export const startExportSignal = defineSignal<[input: ExportInput]>('startExport');
/** From an export that ended: its workflow ID and its sends of the last window, which still count against the account. */
export const exportFinishedSignal = defineSignal<[workflowId: string, sends?: number[]]>('exportFinished');
/** A bucket header reported a lower total than the budget: tighten for everyone. */
export const observedLimitSignal = defineSignal<[bucket: RateBucket, total: number]>('observedLimit');
export const setBudgetSignal = defineSignal<[bucket: RateBucket, budget: RateBudget]>('setBudget');
export const coordinatorStateQuery = defineQuery<AccountBudgetState & { account: string }>('coordinatorState');
