/**
 * What a batch may answer, checked against what the workflow asked for. Any client of the
 * namespace can complete a running activity by its ID with a result of its choosing, so the workflow
 * believes a result only when it fits the request: the same export and endpoint family, a position
 * never behind the one it sent, counts and waits within the contract's bounds. (That the worker made
 * it is checked apart, by its seal: activities/seal.ts.) One sentence, or undefined. Pure.
 */
import { cursorEndpointFor, endpointSpec } from '../zendesk/endpoints';
import { countsOf } from './counts';
import { checkPosition } from './export';
import { batchRequests, type BatchInput, type BatchResult, type BatchStop } from './page-activity';
import { isPlainObject, problem, type Problem } from './problem';

/** Zendesk's Retry-After is believed up to an hour (the activity caps it there too). */
export const MAX_RETRY_AFTER_SECONDS = 3600;
/** Records a page may hold: Zendesk sends at most 1000, a crowded second of a time-based export a few more. */
export const MAX_RECORDS_PER_PAGE = 10_000;
/** Sideloaded records a page may bring (several kinds per record). */
export const MAX_SIDELOADED_PER_PAGE = 100_000;
/** A batch lasts at most its schedule-to-close timeout: no request left longer ago than that. */
export const MAX_SENT_AGO_MS = 24 * 3600_000;
/** Sends a batch reports: its requests, plus one per failed attempt (a day of retries at most every 200 ms). */
export const MAX_SENDS_PER_BATCH = 500_000;
const MAX_NOTES_PER_BATCH = 100;
const MAX_TEXT = 2000;

const STOPS: readonly BatchStop[] = ['budget', 'end-of-stream', 'caught-up', 'rate-limited', 'failed', 'cancelled'];

const isCount = (v: unknown, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;

/**
 * Why `result` cannot be the answer to `request`, or undefined when it can. A batch may switch a stuck
 * time-based export to its resource's cursor endpoint, never elsewhere; its position never goes back,
 * and does not move at all without a page written.
 */
export function checkBatchResult(request: BatchInput, result: unknown): Problem | undefined {
  if (!isPlainObject(result)) return problem('', 'the result is missing');
  const { resource } = request.target;
  const positionProblem = checkPosition(result.at, resource, 'at');
  if (positionProblem) return positionProblem;
  const r = result as unknown as BatchResult;
  const asked = request.at;
  const cursor = cursorEndpointFor(resource);
  const switched = endpointSpec(asked.endpoint).paging === 'time' && r.at.endpoint === cursor?.id && asked.endpoint !== 'sample';
  if (r.at.endpoint !== asked.endpoint && !switched) return problem('at.endpoint', `${r.at.endpoint} is not ${asked.endpoint} nor its cursor endpoint`);
  if (r.at.next.startTime < asked.next.startTime) return problem('at', 'is behind the position the batch started from');
  const requests = batchRequests(request);
  if (!isCount(r.pages, requests)) return problem('pages', `is not a number of pages from 0 to ${requests}`);
  if (r.pages === 0 && JSON.stringify(r.at) !== JSON.stringify(asked)) return problem('at', 'moved without a page written');
  const counts = countsOf(r);
  for (const field of ['records', 'repeats'] as const) {
    if (!isCount(counts[field], r.pages * MAX_RECORDS_PER_PAGE)) return problem(field, 'is not a number of records its pages can hold');
  }
  if (!isCount(r.sideloaded, r.pages * MAX_SIDELOADED_PER_PAGE)) return problem('sideloaded', 'is not a number of records its pages can bring');
  if (!Array.isArray(r.sentAgoMs) || r.sentAgoMs.length > MAX_SENDS_PER_BATCH || r.sentAgoMs.some((ms) => !(Number.isFinite(ms) && ms >= 0 && ms <= MAX_SENT_AGO_MS))) {
    return problem('sentAgoMs', 'is not a list of send times within the batch');
  }
  if (r.sentAgoMs.length < r.pages) return problem('sentAgoMs', 'has fewer requests than pages');
  if (!STOPS.includes(r.stop)) return problem('stop', 'is not a reason a batch ends');
  if (r.stop === 'end-of-stream' && r.pages === 0) return problem('stop', 'is end-of-stream with no page written');
  const failureProblem = checkFailure(r);
  if (failureProblem) return failureProblem;
  if (r.retryAfter !== undefined) {
    if (r.stop !== 'rate-limited' || !isPlainObject(r.retryAfter)) return problem('retryAfter', 'comes without a 429');
    if (!isCount(r.retryAfter.seconds, MAX_RETRY_AFTER_SECONDS) || typeof r.retryAfter.capped !== 'boolean') return problem('retryAfter', `is not a wait of 0 to ${MAX_RETRY_AFTER_SECONDS} seconds`);
  }
  if (r.rateLimit !== undefined && !isRateLimit(r.rateLimit)) return problem('rateLimit', 'is not a rate-limit header');
  if (!Array.isArray(r.notes) || r.notes.length > MAX_NOTES_PER_BATCH || !r.notes.every((n) => isText(n))) return problem('notes', 'is not a list of notes');
  if (r.seal !== undefined && !isText(r.seal, 200)) return problem('seal', 'is not a seal');
  return undefined;
}

function checkFailure(r: BatchResult): Problem | undefined {
  if (r.stop !== 'failed') return r.failure === undefined ? undefined : problem('failure', 'comes with a batch that did not fail');
  const f = r.failure as unknown;
  return isPlainObject(f) && isText(f.type, 100) && isText(f.message) ? undefined : problem('failure', 'is not a failure type and message');
}

function isRateLimit(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  const numbers = ['total', 'remaining', 'resetsSeconds', 'accountLimit', 'accountRemaining'].every((k) => v[k] === undefined || isCount(v[k], 1e12));
  return numbers && (v.bucket === undefined || isText(v.bucket, 100)) && Object.keys(v).length <= 6;
}
