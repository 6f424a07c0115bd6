/**
 * Deep checks of the state a workflow carries in its input (across continue-as-new, into a resumed
 * export, or a coordinator's): any client can start a workflow with a state of its choosing, so every
 * field is checked, with nothing unknown, before a rule reads it. A bad state fails the workflow at once
 * with one sentence, never a workflow task failing for ever. The field and what is wrong with it, or undefined. Pure.
 */
import { cursorEndpointFor, endpointSpec, isRateBucket, type EndpointId, type Resource } from '../zendesk/endpoints';
import { MAX_RETRY_AFTER_SECONDS } from './batch-result';
import { isCounts } from './counts';
import { checkBudget, checkPosition, ORIGIN, type ExportStatus } from './export';
import { parseExportWorkflowId } from './ids';
import { MAX_BUDGET_REQUESTS, MAX_NOTES, BATCH_SENDING_MS } from './limits';
import { isPlainObject, isWhole, problem, type Problem } from './problem';

/** Notes an export keeps (export-rules.ts keeps MAX_NOTES; a resumed state may carry a few more). */
const MAX_CARRIED_NOTES = MAX_NOTES * 2;
const STATUSES: readonly ExportStatus[] = ['starting', 'running', 'waiting-rate-budget', 'waiting-retry-after', 'retrying', 'paused', 'following', 'completed', 'cancelled', 'failed', 'needs-reauthorization'];
const STATE_KEYS = ['at', 'origin', 'pace', 'progress', 'status', 'paused', 'notes', 'retry', 'error'];
const PACE_KEYS = ['sent', 'notBefore', 'share', 'budget'];
/** Progress fields: the counts (under their current or 0.2.1 names) and the times. */
const COUNT_KEYS = ['pages', 'records', 'repeats', 'repeatsDropped', 'sideloaded'];
const TIME_KEYS = ['firstStartTime', 'rateLimited', 'waitedMs', 'startedAt', 'updatedAt'];

/** Times (epoch ms), at most `max` of them, none later than `latest`. */
const isTimes = (v: unknown, max: number, latest = Infinity): v is number[] =>
  Array.isArray(v) && v.length <= max && v.every((t) => Number.isFinite(t) && t >= 0 && t <= latest);
const onlyKeys = (v: Record<string, unknown>, keys: readonly string[]) => Object.keys(v).every((k) => keys.includes(k));

/**
 * An export's carried state, for `input`'s export, at `now` (workflow time): nothing in it may hold
 * the export back longer than Zendesk could (a hold of at most an hour, sends no later than a batch in
 * flight could make them), nor name another endpoint family.
 */
export function checkExportState(state: unknown, input: { resource: Resource; endpoint: EndpointId }, now = Infinity): Problem | undefined {
  if (state === undefined) return undefined;
  if (!isPlainObject(state)) return problem('state', 'is not an object');
  if (!onlyKeys(state, STATE_KEYS)) return problem('state', 'has fields an export state does not have');
  const position = checkPosition(state.at, input.resource, 'state.at');
  if (position) return position;
  const endpoint = (state.at as { endpoint: string }).endpoint;
  if (endpoint !== input.endpoint && !(endpointSpec(input.endpoint).paging === 'time' && endpoint === cursorEndpointFor(input.resource)?.id && input.endpoint !== 'sample')) {
    return problem('state.at.endpoint', `${endpoint} is not ${input.endpoint} nor its cursor endpoint`);
  }
  if (typeof state.origin !== 'string' || !ORIGIN.test(state.origin)) return problem('state.origin', 'is not an export stamp');
  return checkPace(state.pace, now) ?? checkProgress(state.progress) ?? checkRest(state, now);
}

function checkPace(pace: unknown, now: number): Problem | undefined {
  if (!isPlainObject(pace) || !onlyKeys(pace, PACE_KEYS)) return problem('state.pace', 'is not a pace');
  if (!isTimes(pace.sent, MAX_BUDGET_REQUESTS, now + BATCH_SENDING_MS)) return problem('state.pace.sent', 'is not a list of send times before now');
  const budget = checkBudget(pace.budget, 'state.pace.budget');
  if (budget) return budget;
  // A hold lasts a Retry-After (at most an hour) or until the bucket's window resets.
  const longestHoldMs = Math.max(MAX_RETRY_AFTER_SECONDS, (pace.budget as { seconds: number }).seconds) * 1000;
  if (!isTimes([pace.notBefore], 1, now + longestHoldMs)) return problem('state.pace.notBefore', 'is not a time within the longest hold');
  if (!isWhole(pace.share, 0, (pace.budget as { requests: number }).requests)) return problem('state.pace.share', 'is not a number of requests within its budget');
  return undefined;
}

function checkProgress(progress: unknown): Problem | undefined {
  if (!isPlainObject(progress) || !onlyKeys(progress, [...COUNT_KEYS, ...TIME_KEYS, 'endOfStreamAt'])) return problem('state.progress', 'is not a set of counts');
  if (!isCounts(progress) || TIME_KEYS.some((k) => !isWhole(progress[k], 0, Number.MAX_SAFE_INTEGER))) return problem('state.progress', 'is not a set of counts');
  if (progress.endOfStreamAt !== undefined && !isWhole(progress.endOfStreamAt, 0, Number.MAX_SAFE_INTEGER)) return problem('state.progress.endOfStreamAt', 'is not a time');
  return undefined;
}

function checkRest(state: Record<string, unknown>, now: number): Problem | undefined {
  if (!STATUSES.includes(state.status as ExportStatus)) return problem('state.status', 'is not an export status');
  if (typeof state.paused !== 'boolean') return problem('state.paused', 'is not true or false');
  if (!Array.isArray(state.notes) || state.notes.length > MAX_CARRIED_NOTES || state.notes.some((n) => typeof n !== 'string' || n.length > 1000)) {
    return problem('state.notes', 'is not a list of notes');
  }
  if (state.error !== undefined && !(typeof state.error === 'string' && state.error.length <= 2000)) return problem('state.error', 'is not a message');
  const retry = state.retry;
  if (retry === undefined) return undefined;
  const fits =
    isPlainObject(retry) &&
    onlyKeys(retry, ['since', 'attempts', 'type', 'message']) &&
    isWhole(retry.since, 0, Math.min(now, Number.MAX_SAFE_INTEGER)) &&
    isWhole(retry.attempts, 1, 1_000_000) &&
    typeof retry.type === 'string' &&
    retry.type.length <= 100 &&
    typeof retry.message === 'string' &&
    retry.message.length <= 2000;
  return fits ? undefined : problem('state.retry', 'is not a retry');
}

/**
 * A coordinator's carried state, for `account`: budgets of known buckets, members that are this
 * account's exports on their own bucket, send times no later than a batch in flight could make them.
 */
export function checkCoordinatorState(state: unknown, account: string, now = Infinity): Problem | undefined {
  if (state === undefined) return undefined;
  if (!isPlainObject(state) || !onlyKeys(state, ['budgets', 'members', 'released', 'joins'])) return problem('state', 'is not a budget state');
  const { budgets, members, released, joins } = state;
  if (!isWhole(joins, 0, Number.MAX_SAFE_INTEGER)) return problem('state.joins', 'is not a count');
  if (!isPlainObject(budgets) || !isPlainObject(members) || !isPlainObject(released)) return problem('state', 'is not a budget state');
  for (const [bucket, budget] of Object.entries(budgets)) {
    if (!isRateBucket(bucket)) return problem('state.budgets', 'names a bucket that does not exist');
    const wrong = checkBudget(budget, `state.budgets.${bucket}`);
    if (wrong) return wrong;
  }
  for (const [bucket, times] of Object.entries(released)) {
    if (!isRateBucket(bucket) || !isTimes(times, MAX_BUDGET_REQUESTS, now + BATCH_SENDING_MS)) return problem('state.released', 'is not a list of send times per bucket');
  }
  const ids = Object.keys(members);
  if (ids.length > 100) return problem('state.members', 'has more exports than an account has');
  for (const id of ids) {
    const parsed = parseExportWorkflowId(id);
    const m = members[id];
    const fits =
      parsed?.account === account &&
      isPlainObject(m) &&
      onlyKeys(m, ['bucket', 'share', 'joined']) &&
      m.bucket === endpointSpec(parsed.endpoint).bucket &&
      isWhole(m.share, 0, MAX_BUDGET_REQUESTS) &&
      isWhole(m.joined, 0, joins - 1);
    if (!fits) return problem('state.members', `has an entry that is not one of account ${account}'s exports`);
  }
  return undefined;
}
