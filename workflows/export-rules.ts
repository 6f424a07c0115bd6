/**
 * An export's state and its rules, as a plain class over JSON-safe state: what the next batch
 * asks for, what a batch's result does to the position, counts and pace, and what to do next. The
 * export workflow wires Temporal (timers, signals, the activity) around it. Pure.
 */
import { MAX_RETRY_AFTER_SECONDS } from '../contract/batch-result';
import { NO_COUNTS } from '../contract/counts';
import { MAX_NOTES, MAX_REQUESTS_PER_BATCH, BATCH_SENDING_MS, FOLLOW_BATCH_MS, ROUNDS_BATCH_MS } from '../contract/limits';
import { FAILURE, batchRequests, firstRound, type BatchInput, type BatchResult } from '../contract/page-activity';
import { endpointSpec, type RateBudget, type RateCeilings } from '../zendesk/endpoints';
import { UNEXPECTED_ANSWER_ATTEMPTS } from '../zendesk/errors';
import { describePosition } from '../zendesk/page';
import { startPosition } from '../zendesk/paging';
import { paceUnderCeiling } from './ceiling';
import { acceptShare, emptyBucketHold, holdUntil, recordSends, requestsAllowed, laterSlots, startPace, tightenPace, waitBeforeNextRequest, WINDOW_MARGIN_MS } from './pacing';
import type { ExportInput, ExportState, ExportStatus } from './types';

/** The refused result's failure type as 0.3.0 named it, still in the state an export of 0.3.0 carries. */
const REFUSED_BEFORE_0_4 = 'RefusedRunResult';

/** Backoff between attempts of a failing request: 1 s, doubling, at most 2 minutes. */
export const RETRY_INITIAL_MS = 1000;
export const RETRY_MAX_MS = 120_000;
/** Zendesk (or the destination) failing for this long ends the export with the last failure. */
export const GIVE_UP_AFTER_MS = 24 * 3600_000;

/**
 * How far ahead a batch's requests are scheduled: within the time a batch may send (BATCH_SENDING_MS, counted
 * from a later start on the worker), with a second to spare.
 */
export const BATCH_SCHEDULE_MS = BATCH_SENDING_MS - 1000;

/** What the workflow does after a batch. */
export type NextStep =
  /** Go on: more pages (after the pacing wait). */
  | { kind: 'go-on' }
  /** Zendesk said 429: wait exactly this long. */
  | { kind: 'retry-after'; ms: number }
  /** Caught up (end_of_stream, or "too recent"): done, or follow. */
  | { kind: 'caught-up' }
  /** The pages asked for (`maxPages`) are written. */
  | { kind: 'enough' }
  /** A request failed: ask again after this backoff. */
  | { kind: 'retry'; ms: number }
  /** Failing for too long, or too often for answers that are not Zendesk's: the export ends with this. */
  | { kind: 'give-up'; type: string; message: string };

/** `1 page`, `2 pages`. */
const counted = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `20261129T131404.123Z`: a start time that sorts as it reads, and is safe in a file name. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

export class ExportRules {
  readonly state: ExportState;
  /** The operator's ceilings, once the worker has told them (undefined in runs begun before them). */
  private ceilings?: RateCeilings;
  /** The sequence number of the last share taken, when the coordinator numbers them (contract/share.ts). */
  private shareSeq?: number;

  constructor(
    readonly input: ExportInput,
    readonly exportId: string,
    now: number,
  ) {
    this.shareSeq = input.shareSeq;
    if (input.state) {
      // A resumed or continued export takes the share it is given now, not the one it had.
      const carried = input.state;
      const pace = input.share === undefined ? carried.pace : acceptShare(carried.pace, input.share, input.budget, input.initialSends ?? []);
      this.state = { ...carried, pace, status: carried.paused ? 'paused' : 'running', error: undefined };
    } else {
      const share = input.share ?? input.budget.requests;
      this.state = {
        at: startPosition(input.endpoint, input.start, input.options?.perPage),
        origin: `${stamp(now)}-${input.endpoint}`,
        pace: startPace(input.budget, share, input.initialSends),
        progress: { firstStartTime: input.start.startTime, ...NO_COUNTS, rateLimited: 0, waitedMs: 0, startedAt: now, updatedAt: now },
        status: 'starting',
        paused: false,
        notes: [],
      };
    }
  }

  /** Milliseconds before the next request may leave (Infinity while queued without a share). */
  waitMs(now: number): number {
    return waitBeforeNextRequest(this.state.pace, now);
  }

  /**
   * The next batch: as many requests as the budget allows now, no more than are wanted, and no
   * more than `pagesLeft` (what this workflow run may still do before it continues as new). Its shape:
   * `scheduled`, the batch also makes the requests whose slots free while it may still send, each at
   * its slot (`laterMs`; without it, only those allowed now, the version before send schedules);
   * `following`, a caught-up export's batch makes one request now and its follow polls of the next
   * hour (`pollsMs`), when they fit its share; `rounds`, a backfill whose first round spends its whole
   * share makes the rounds of its next windows too (`rounds`).
   */
  nextBatch(now: number, pagesLeft = Infinity, shape: { scheduled?: boolean; following?: boolean; rounds?: boolean } = {}): BatchInput {
    const { input, state } = this;
    let most = Math.min(MAX_REQUESTS_PER_BATCH, pagesLeft);
    if (input.maxPages !== undefined) most = Math.min(most, input.maxPages - state.progress.pages);
    const pollsMs = shape.following ? this.followPolls(most - 1) : [];
    const maxRequests = pollsMs.length ? 1 : Math.max(1, Math.min(requestsAllowed(state.pace, now), most));
    const laterMs = shape.scheduled && !pollsMs.length ? laterSlots(state.pace, now, BATCH_SCHEDULE_MS).slice(0, Math.max(0, most - maxRequests)) : [];
    const rounds = shape.rounds && !pollsMs.length ? this.roundsAfter(maxRequests + laterMs.length, most, now) : undefined;
    const { perPage: _perPage, ...options } = input.options ?? {};
    return {
      target: { account: input.account, resource: input.resource, options, destination: input.destination, exportId: this.exportId, origin: state.origin },
      at: state.at,
      firstPage: state.progress.pages + 1,
      maxRequests,
      ...(laterMs.length ? { laterMs } : {}),
      ...(pollsMs.length ? { pollsMs } : {}),
      ...(rounds ? { rounds } : {}),
      // The last result was refused: the batch it stood for may have written pages, which its checkpoint names.
      ...(state.retry?.type === FAILURE.refused || state.retry?.type === REFUSED_BEFORE_0_4 ? { resume: true } : {}),
    };
  }

  /**
   * The rounds after a first round of `round` requests: as many again each window, for up to
   * ROUNDS_BATCH_MS, at most `most` requests in all; none unless the first round spends the whole share
   * (each later round then repeats the one before it a window on, which keeps every window within the
   * share) and a window is long enough to rest through (BATCH_SENDING_MS).
   */
  private roundsAfter(round: number, most: number, now: number): BatchInput['rounds'] {
    const { share, budget } = this.state.pace;
    const everyMs = budget.seconds * 1000 + WINDOW_MARGIN_MS;
    if (round !== share || requestsAllowed(this.state.pace, now) === 0 || everyMs < BATCH_SENDING_MS) return undefined;
    const count = Math.min(Math.floor(ROUNDS_BATCH_MS / everyMs), Math.floor(most / round) - 1);
    return count >= 1 ? { count, everyMs } : undefined;
  }

  /** Whether a resting batch in flight (follow polls, rounds) still keeps to the export's share and budget as they are now. */
  restingBatchFits(request: BatchInput): boolean {
    if (request.pollsMs) return this.pollsFitShare();
    if (request.rounds) return firstRound(request) === this.state.pace.share && request.rounds.everyMs === this.state.pace.budget.seconds * 1000 + WINDOW_MARGIN_MS;
    return true;
  }

  /**
   * The follow polls after a batch's first request, one each interval for up to FOLLOW_BATCH_MS, at
   * most `most`: none unless each fits the export's share alone, that is one request in any window of
   * its budget even when a poll leaves up to BATCH_SENDING_MS late.
   */
  followPolls(most = Infinity): number[] {
    if (!this.pollsFitShare()) return [];
    const everyMs = this.input.followIntervalSeconds! * 1000;
    return Array.from({ length: Math.max(0, Math.min(Math.floor(FOLLOW_BATCH_MS / everyMs), most)) }, (_, i) => (i + 1) * everyMs);
  }

  /** Whether follow polls, one an interval, keep within the export's share and budget as they are now. */
  pollsFitShare(): boolean {
    const everyMs = (this.input.followIntervalSeconds ?? 0) * 1000;
    const { share, budget } = this.state.pace;
    return everyMs > 0 && share >= 1 && everyMs >= budget.seconds * 1000 + BATCH_SENDING_MS + WINDOW_MARGIN_MS;
  }

  /** Takes in a batch's result, placing its sends on the workflow clock; returns what to do next. */
  applyBatch(result: BatchResult, now: number): { next: NextStep; tightened?: RateBudget } {
    const { state } = this;
    const sends = result.sentAgoMs.map((ago) => now - ago);
    state.pace = recordSends(state.pace, sends);
    state.at = result.at;
    state.pace = this.underCeiling(state.pace); // A switch of endpoint may change the bucket.
    const p = state.progress;
    p.pages += result.pages;
    p.records += result.records;
    p.repeats += result.repeats;
    p.sideloaded += result.sideloaded;
    p.updatedAt = now;
    for (const note of result.notes) this.note(note);
    if (result.pages > 0) state.retry = undefined;

    let tightened: RateBudget | undefined;
    const limit = result.rateLimit;
    if (limit?.total !== undefined) {
      const before = state.pace.budget;
      state.pace = tightenPace(state.pace, limit.total);
      if (state.pace.budget !== before) {
        tightened = state.pace.budget;
        this.note(`Zendesk reports a budget of ${tightened.requests} per ${tightened.seconds}s for ${endpointSpec(state.at.endpoint).bucket}; pacing to it.`);
      }
    }
    if (limit?.remaining === 0 && limit.resetsSeconds !== undefined && sends.length && result.stop !== 'rate-limited') {
      // A bucket resets within its window: a header saying later is not believed.
      const hold = emptyBucketHold(state.pace, sends[sends.length - 1]!, Math.min(limit.resetsSeconds, state.pace.budget.seconds));
      if (hold !== undefined) state.pace = holdUntil(state.pace, hold);
    }

    if (result.stop === 'failed' && result.failure) {
      const r = state.retry;
      state.retry = { since: r?.since ?? now, attempts: (r?.attempts ?? 0) + 1, type: result.failure.type, message: result.failure.message };
      return { next: this.retryStep(state.retry, now), tightened };
    }
    if (result.stop === 'rate-limited') {
      const seconds = Math.min(result.retryAfter?.seconds ?? 60, MAX_RETRY_AFTER_SECONDS);
      p.rateLimited++;
      if (result.retryAfter?.capped) this.note(`Zendesk asked to wait longer than an hour (HTTP 429); waiting an hour, then asking again.`);
      // Kept as a not-before time too, so a pause during the wait does not shorten it.
      state.pace = holdUntil(state.pace, now + seconds * 1000);
      return { next: { kind: 'retry-after', ms: seconds * 1000 }, tightened };
    }
    if (result.stop === 'end-of-stream' || result.stop === 'caught-up') p.endOfStreamAt = now;
    // The pages asked for end the export, following or not.
    if (this.input.maxPages !== undefined && p.pages >= this.input.maxPages) return { next: { kind: 'enough' }, tightened };
    if (result.stop === 'end-of-stream' || result.stop === 'caught-up') return { next: { kind: 'caught-up' }, tightened };
    return { next: { kind: 'go-on' }, tightened };
  }

  /** Ask again after a backoff, or give up: after a day of failures, or a few answers that were not Zendesk's. */
  private retryStep(retry: NonNullable<ExportState['retry']>, now: number): NextStep {
    if (retry.type === 'ZendeskUnexpectedAnswerError' && retry.attempts >= UNEXPECTED_ANSWER_ATTEMPTS) {
      return { kind: 'give-up', type: retry.type, message: `${retry.message} (${retry.attempts} attempts)` };
    }
    if (now - retry.since >= GIVE_UP_AFTER_MS) {
      return { kind: 'give-up', type: retry.type, message: `Gave up after a day of failed attempts: ${retry.message}` };
    }
    return { kind: 'retry', ms: Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** (retry.attempts - 1)) };
  }

  /**
   * What a refused result stands for: a failed batch that wrote nothing and spent every request it was
   * allowed (the batch the worker really made may have spent them), so the export backs off, keeps to its
   * budget, and asks again from the destination's checkpoint.
   */
  refusedBatch(request: BatchInput, problem: string): BatchResult {
    const message = `Refused a batch's result that did not come from a worker or does not fit its request (${problem}); asking again from the destination's checkpoint.`;
    return {
      at: request.at,
      ...NO_COUNTS, notes: [message],
      sentAgoMs: Array<number>(batchRequests(request)).fill(0),
      stop: 'failed',
      failure: { type: FAILURE.refused, message },
    };
  }

  /**
   * The coordinator's new share and budget, within the operator's ceiling; sends to count against it,
   * none later than a batch in flight could still send (`now`: a signal's send times are not believed further).
   */
  acceptShare(share: number, budget: RateBudget, sends: readonly number[], now = Infinity, seq?: number): void {
    const believable = sends.map((t) => Math.min(t, now + BATCH_SENDING_MS));
    this.state.pace = this.underCeiling(acceptShare(this.state.pace, share, budget, believable));
    if (seq !== undefined) this.shareSeq = seq;
  }

  /** Whether a share numbered `seq` comes after the last one taken (an earlier one is stale, or copied from history). */
  isNewShare(seq: unknown): boolean {
    return Number.isSafeInteger(seq) && (this.shareSeq === undefined || (seq as number) > this.shareSeq);
  }

  /** The operator's ceilings (from the worker): the pace keeps within them from now on. */
  limitTo(ceilings: RateCeilings): void {
    this.ceilings = ceilings;
    this.state.pace = this.underCeiling(this.state.pace);
  }

  /** The pace within the ceiling of the bucket the export now uses; a share never above its budget. */
  private underCeiling(pace: ExportState['pace']): ExportState['pace'] {
    return paceUnderCeiling(pace, this.ceilings?.[endpointSpec(this.state.at.endpoint).bucket]);
  }

  /** Time spent waiting for budget or Retry-After, for progress. */
  waited(ms: number): void {
    this.state.progress.waitedMs += ms;
  }

  note(text: string): void {
    this.state.notes = [...this.state.notes, text].slice(-MAX_NOTES);
  }

  /** Sets the status; true when it changed (the search attribute is then updated). */
  setStatus(status: ExportStatus, now: number): boolean {
    const changed = status !== this.state.status;
    this.state.status = status;
    this.state.progress.updatedAt = now;
    return changed;
  }

  fail(message: string, now: number): void {
    this.state.error = message;
    this.setStatus('failed', now);
  }

  /** What the export is doing, for the Temporal UI's current details. */
  details(detail = ''): string {
    const { state, input } = this;
    return (
      `**${input.resource}** via ${state.at.endpoint} — ${state.status}${detail ? ` (${detail})` : ''}\n\n` +
      `${counted(state.progress.pages, 'page')}, ${counted(state.progress.records, 'record')}; at ${describePosition(state.at.next)}` +
      (state.notes.length ? `\n\n${state.notes.join('\n\n')}` : '')
    );
  }

  /** The input of the next workflow run after continue-as-new: everything carried in the state. */
  carry(): ExportInput {
    return { ...this.input, share: undefined, initialSends: undefined, shareSeq: this.shareSeq, state: this.state };
  }
}

