/**
 * Checks of the workflows' inputs and signals. Any Temporal client can start an export or signal a
 * coordinator, not only this project's client, so each input is checked before it is used: one
 * sentence naming the field, or undefined. Pure.
 */
import { checkAccount, checkDestination, checkOptions, checkPosition } from '../activities/checks';
import { printable } from '../zendesk/account';
import { endpointSpec, isEndpointId, isRateBucket, isResource } from '../zendesk/endpoints';
import { checkBudget, checkCoordinatorState, checkExportState, isPlainObject, isTimes, isWhole, MAX_BUDGET_REQUESTS, MAX_BUDGET_SECONDS } from './carried-state';
import { coordinatorWorkflowId, exportWorkflowId } from './ids';
import type { ExportInput } from './types';

/** Follow mode polls at least daily. */
export const MAX_FOLLOW_SECONDS = 86_400;
export { MAX_BUDGET_REQUESTS, MAX_BUDGET_SECONDS, checkBudget };

/** Send times a signal or an input hands over (bounded: they only matter within one window). */
export function checkSends(sends: unknown, field: string): string | undefined {
  return sends === undefined || isTimes(sends, MAX_BUDGET_REQUESTS) ? undefined : `${field} is not a list of send times`;
}

/**
 * The whole input of an export. `workflowId` is the ID it runs under: an export only runs under the
 * ID its input names, so one account's export can never pass for another's.
 */
export function checkExportInput(input: unknown, workflowId: string, now = Infinity): string | undefined {
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
    checkExportState(input.state, typed, now)
  );
}

/** A coordinator's input: its account, under its own workflow ID. */
export function checkCoordinatorInput(input: unknown, workflowId: string, now = Infinity): string | undefined {
  if (!isPlainObject(input)) return 'the input is missing';
  const problem = checkAccount(input.account);
  if (problem) return problem;
  if (workflowId !== coordinatorWorkflowId(input.account as string)) return `the workflow ID ${printable(workflowId)} is not the coordinator of account ${input.account as string}`;
  return checkCoordinatorState(input.state, input.account as string, now);
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
