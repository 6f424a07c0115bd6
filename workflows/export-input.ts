/**
 * Checks of the workflows' inputs and signals. Any Temporal client can start an export or signal a
 * coordinator, not only this project's client, so each input is checked before it is used: one
 * sentence naming the field, or undefined. Pure.
 */
import { checkAccount, checkDestination, checkOptions, checkPosition } from '../activities/checks';
import { printable } from '../zendesk/account';
import { endpointSpec, isEndpointId, isRateBucket, isResource } from '../zendesk/endpoints';
import { MAX_NOTES } from './export-run';
import { coordinatorWorkflowId, exportWorkflowId } from './ids';
import type { ExportInput } from './types';

/** Budgets are per window of at most a day, of at most 1000 requests (Zendesk sells 10 to 60 a minute). */
export const MAX_BUDGET_REQUESTS = 1000;
export const MAX_BUDGET_SECONDS = 86_400;
/** Follow mode polls at least daily. */
export const MAX_FOLLOW_SECONDS = 86_400;

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isWhole = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const isTimes = (v: unknown, max: number): v is number[] => Array.isArray(v) && v.length <= max && v.every((t) => Number.isFinite(t) && t >= 0);

export function checkBudget(budget: unknown, field = 'budget'): string | undefined {
  if (!isPlainObject(budget)) return `${field} is missing`;
  if (!isWhole(budget.requests, 1, MAX_BUDGET_REQUESTS)) return `${field}.requests is not a number of requests from 1 to ${MAX_BUDGET_REQUESTS}`;
  if (!isWhole(budget.seconds, 1, MAX_BUDGET_SECONDS)) return `${field}.seconds is not a number of seconds from 1 to ${MAX_BUDGET_SECONDS}`;
  return undefined;
}

/** Send times a signal or an input hands over (bounded: they only matter within one window). */
export function checkSends(sends: unknown, field: string): string | undefined {
  return sends === undefined || isTimes(sends, MAX_BUDGET_REQUESTS) ? undefined : `${field} is not a list of send times`;
}

function checkState(state: unknown, input: ExportInput): string | undefined {
  if (state === undefined) return undefined;
  if (!isPlainObject(state)) return 'state is not an object';
  const problem = checkPosition(state.at, input.resource, 'state.at');
  if (problem) return problem;
  if (typeof state.origin !== 'string' || !/^\d{8}T\d{6}\.\d{3}Z-[a-z_]{1,40}$/.test(state.origin)) return 'state.origin is not an export stamp';
  const pace = state.pace;
  if (!isPlainObject(pace) || !isTimes(pace.sent, MAX_BUDGET_REQUESTS) || !Number.isFinite(pace.notBefore) || !isWhole(pace.share, 0, MAX_BUDGET_REQUESTS)) {
    return 'state.pace is not a pace';
  }
  const budget = checkBudget(pace.budget, 'state.pace.budget');
  if (budget) return budget;
  const progress = state.progress;
  const counts = ['firstStartTime', 'pages', 'records', 'repeatsDropped', 'sideloaded', 'rateLimited', 'waitedMs', 'startedAt', 'updatedAt'];
  if (!isPlainObject(progress) || counts.some((k) => !isWhole(progress[k], 0, Number.MAX_SAFE_INTEGER))) return 'state.progress is not a set of counts';
  if (!Array.isArray(state.notes) || state.notes.length > MAX_NOTES * 2 || state.notes.some((n) => typeof n !== 'string' || n.length > 1000)) {
    return 'state.notes is not a list of notes';
  }
  if (typeof state.paused !== 'boolean') return 'state.paused is not true or false';
  const retry = state.retry;
  if (retry !== undefined) {
    if (!isPlainObject(retry) || !isWhole(retry.since, 0, Number.MAX_SAFE_INTEGER) || !isWhole(retry.attempts, 1, 1_000_000)) return 'state.retry is not a retry';
    if (typeof retry.type !== 'string' || retry.type.length > 100 || typeof retry.message !== 'string' || retry.message.length > 2000) return 'state.retry is not a retry';
  }
  return undefined;
}

/**
 * The whole input of an export. `workflowId` is the ID it runs under: an export only runs under the
 * ID its input names, so one account's export can never pass for another's.
 */
export function checkExportInput(input: unknown, workflowId: string): string | undefined {
  if (!isPlainObject(input)) return 'the input is missing';
  const accountProblem = checkAccount(input.account);
  if (accountProblem) return accountProblem;
  if (!isResource(input.resource)) return `resource "${printable(input.resource)}" is not tickets, users, organizations or ticket_events`;
  if (!isEndpointId(input.endpoint)) return `endpoint "${printable(input.endpoint)}" is not one of the seven endpoints`;
  if (!(endpointSpec(input.endpoint).resources as readonly string[]).includes(input.resource)) return `endpoint ${input.endpoint} does not export ${input.resource}`;
  const typed = input as unknown as ExportInput;
  const expectedId = exportWorkflowId(typed.account, typed.resource, typed.endpoint);
  if (workflowId !== expectedId) return `the workflow ID ${printable(workflowId)} is not the ID of this export (${expectedId})`;
  return (
    checkPosition({ endpoint: input.endpoint, next: input.start, boundary: { second: -1, keys: [] } }, input.resource, 'start') ??
    checkOptions(input.options, input.endpoint) ??
    checkDestination(input.destination) ??
    checkBudget(input.budget) ??
    (input.share === undefined || isWhole(input.share, 0, MAX_BUDGET_REQUESTS) ? undefined : 'share is not a number of requests') ??
    checkSends(input.initialSends, 'initialSends') ??
    (input.coordinatorId === undefined || input.coordinatorId === coordinatorWorkflowId(typed.account)
      ? undefined
      : `coordinatorId is not the coordinator of account ${typed.account}`) ??
    (input.followIntervalSeconds === undefined || isWhole(input.followIntervalSeconds, 1, MAX_FOLLOW_SECONDS)
      ? undefined
      : `followIntervalSeconds is not a number of seconds from 1 to ${MAX_FOLLOW_SECONDS}`) ??
    (input.maxPages === undefined || isWhole(input.maxPages, 1, Number.MAX_SAFE_INTEGER) ? undefined : 'maxPages is not a number of pages') ??
    (input.maxPagesPerRun === undefined || isWhole(input.maxPagesPerRun, 1, 1_000_000) ? undefined : 'maxPagesPerRun is not a number of pages') ??
    checkState(input.state, typed)
  );
}

/** A coordinator's input: its account, under its own workflow ID. */
export function checkCoordinatorInput(input: unknown, workflowId: string): string | undefined {
  if (!isPlainObject(input)) return 'the input is missing';
  const problem = checkAccount(input.account);
  if (problem) return problem;
  if (workflowId !== coordinatorWorkflowId(input.account as string)) return `the workflow ID ${printable(workflowId)} is not the coordinator of account ${input.account as string}`;
  const state = input.state;
  if (state === undefined) return undefined;
  if (!isPlainObject(state) || !isPlainObject(state.budgets) || !isPlainObject(state.members) || !isPlainObject(state.released)) return 'state is not a budget state';
  return undefined;
}

/** A bucket named in a signal. */
export function checkBucket(bucket: unknown): string | undefined {
  return typeof bucket === 'string' && isRateBucket(bucket) ? undefined : `bucket "${printable(bucket)}" is not a rate bucket`;
}


/**
 * A check that cannot throw: an input built to break the checker (cyclic, absurdly deep) is refused
 * with a sentence, instead of failing the workflow task for ever.
 */
export function readable(check: () => string | undefined): string | undefined {
  try {
    return check();
  } catch {
    return 'the input cannot be read (too deep, cyclic, or not data)';
  }
}
