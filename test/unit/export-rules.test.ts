/** An export's rules between batches: what the next batch asks for, and what a batch's result does. */
import type { BatchResult } from '../../contract/page-activity';
import { BATCH_SENDING_MS, FOLLOW_BATCH_MS, MAX_NOTES, MAX_REQUESTS_PER_BATCH, ROUNDS_BATCH_MS } from '../../contract/limits';
import { checkBatchInput } from '../../contract/page-activity';
import { batchResult } from '../helpers/batch';
import type { ExportPosition } from '../../zendesk/paging';
import { UNEXPECTED_ANSWER_ATTEMPTS } from '../../zendesk/errors';
import { ExportRules, GIVE_UP_AFTER_MS, RETRY_INITIAL_MS, RETRY_MAX_MS, stamp } from '../../workflows/export-rules';
import { WINDOW_MARGIN_MS } from '../../workflows/pacing';
import type { ExportInput } from '../../workflows/types';

const NOW = Date.now();
const BUDGET = { requests: 10, seconds: 60 };
const ID = 'zendesk-export/acme/tickets/tickets_time';

const input = (extra: Partial<ExportInput> = {}): ExportInput => ({
  account: 'acme',
  resource: 'tickets',
  endpoint: 'tickets_time',
  start: { kind: 'time', startTime: 1000 },
  options: { perPage: 100, include: ['users'], supportTypeScope: 'all' },
  destination: { kind: 'ndjson', dir: 'out' },
  budget: BUDGET,
  share: 4,
  ...extra,
});

const at = (startTime: number): ExportPosition => ({ endpoint: 'tickets_time', next: { kind: 'time', startTime }, boundary: { second: -1, keys: [] }, perPage: 100 });

const result = (extra: Partial<BatchResult> = {}): BatchResult => batchResult(at(2000), extra);

describe('a new export', () => {
  it('starts at its start position with its share, naming its pages by its start', () => {
    const rules = new ExportRules(input({ initialSends: [NOW - 5_000] }), ID, NOW);
    expect(rules.state).toMatchObject({
      at: { endpoint: 'tickets_time', next: { kind: 'time', startTime: 1000 }, perPage: 100, boundary: { second: -1, keys: [] } },
      origin: `${stamp(NOW)}-tickets_time`,
      pace: { share: 4, sent: [NOW - 5_000], budget: BUDGET },
      status: 'starting',
      progress: { firstStartTime: 1000, pages: 0, records: 0 },
    });
    expect(rules.state.origin).toMatch(/^\d{8}T\d{6}\.\d{3}Z-tickets_time$/);
  });

  it('takes the whole budget when no coordinator gave it a share', () => {
    expect(new ExportRules(input({ share: undefined }), ID, NOW).state.pace.share).toBe(10);
  });
});

describe('the next batch', () => {
  it('asks for what the share allows now, with the options but not the page size (that lives in the position)', () => {
    const request = new ExportRules(input(), ID, NOW).nextBatch(NOW);
    expect(request).toEqual({
      target: { account: 'acme', resource: 'tickets', options: { include: ['users'], supportTypeScope: 'all' }, destination: { kind: 'ndjson', dir: 'out' }, exportId: ID, origin: expect.any(String) },
      at: expect.objectContaining({ next: { kind: 'time', startTime: 1000 } }),
      firstPage: 1,
      maxRequests: 4,
    });
  });

  it('asks for no more than the pages this workflow run may still do, nor than the pages wanted', () => {
    const rules = new ExportRules(input({ share: 10, maxPages: 5 }), ID, NOW);
    expect(rules.nextBatch(NOW, 3).maxRequests).toBe(3);
    rules.applyBatch(result({ pages: 4, sentAgoMs: [0, 0, 0, 0] }), NOW);
    expect(rules.nextBatch(NOW).maxRequests).toBe(1);
    expect(rules.nextBatch(NOW).firstPage).toBe(5);
  });

  it('schedules the requests whose slots free while the batch may send, each at its slot', () => {
    const rules = new ExportRules(input({ share: 4 }), ID, NOW);
    rules.applyBatch(result({ pages: 4, sentAgoMs: [300, 200, 100, 0] }), NOW);
    const opens = NOW + 60_000 + WINDOW_MARGIN_MS - 300;
    expect(rules.waitMs(NOW)).toBe(opens - NOW);
    // Without the schedule, one request; with it, three more, spaced as the burst that freed them.
    expect(rules.nextBatch(opens)).not.toHaveProperty('laterMs');
    expect(rules.nextBatch(opens).maxRequests).toBe(1);
    expect(rules.nextBatch(opens, Infinity, { scheduled: true })).toMatchObject({ maxRequests: 1, laterMs: [100, 200, 300] });
    expect(rules.nextBatch(opens, 2, { scheduled: true })).toMatchObject({ maxRequests: 1, laterMs: [100] });
    expect(rules.nextBatch(opens, 1, { scheduled: true })).not.toHaveProperty('laterMs');
  });

  it("gives a caught-up export's batch its follow polls of the next hour, one an interval, when one request a window fits its share", () => {
    const rules = new ExportRules(input({ share: 4, followIntervalSeconds: 300 }), ID, NOW);
    const batch = rules.nextBatch(NOW, Infinity, { scheduled: true, following: true });
    expect(batch).toMatchObject({ maxRequests: 1, pollsMs: Array.from({ length: FOLLOW_BATCH_MS / 300_000 }, (_, i) => (i + 1) * 300_000) });
    expect(batch).not.toHaveProperty('laterMs');
    expect(checkBatchInput(batch)).toBeUndefined(); // The activity takes what the rules make.
    // Not following: the batch is as before.
    expect(rules.nextBatch(NOW, Infinity, { scheduled: true })).not.toHaveProperty('pollsMs');
    // No more polls than the pages this run, or the export, may still make.
    expect(rules.nextBatch(NOW, 4, { scheduled: true, following: true }).pollsMs).toHaveLength(3);
    expect(rules.nextBatch(NOW, 1, { scheduled: true, following: true })).not.toHaveProperty('pollsMs');
  });

  it('gives no follow polls where a poll an interval could exceed the share in some window', () => {
    const window = BUDGET.seconds * 1000;
    // A poll may leave up to BATCH_SENDING_MS late: two then fall in one window unless the interval is longer than both.
    const tooShort = Math.floor((window + BATCH_SENDING_MS) / 1000);
    expect(new ExportRules(input({ followIntervalSeconds: tooShort }), ID, NOW).nextBatch(NOW, Infinity, { scheduled: true, following: true })).not.toHaveProperty('pollsMs');
    expect(new ExportRules(input({ followIntervalSeconds: tooShort + 1 }), ID, NOW).nextBatch(NOW, Infinity, { scheduled: true, following: true }).pollsMs).toHaveLength(Math.floor(FOLLOW_BATCH_MS / ((tooShort + 1) * 1000)));
    // Queued without a share; an interval longer than a batch may poll; no follow mode at all.
    expect(new ExportRules(input({ share: 0, followIntervalSeconds: 300 }), ID, NOW).pollsFitShare()).toBe(false);
    expect(new ExportRules(input({ followIntervalSeconds: 86_400 }), ID, NOW).nextBatch(NOW, Infinity, { scheduled: true, following: true })).not.toHaveProperty('pollsMs');
    expect(new ExportRules(input(), ID, NOW).pollsFitShare()).toBe(false);
    // A share taken later that is too small stops them.
    const rules = new ExportRules(input({ followIntervalSeconds: 300 }), ID, NOW);
    expect(rules.pollsFitShare()).toBe(true);
    rules.acceptShare(0, BUDGET, [], NOW);
    expect(rules.pollsFitShare()).toBe(false);
  });

  it("gives a backfill whose first round spends its whole share the rounds of its next windows, up to 5 minutes", () => {
    const every = BUDGET.seconds * 1000 + WINDOW_MARGIN_MS;
    const rules = new ExportRules(input({ share: 4 }), ID, NOW);
    const batch = rules.nextBatch(NOW, Infinity, { scheduled: true, rounds: true });
    expect(batch).toMatchObject({ maxRequests: 4, rounds: { count: Math.floor(ROUNDS_BATCH_MS / every), everyMs: every } });
    expect(checkBatchInput(batch)).toBeUndefined(); // The activity takes what the rules make.
    expect(rules.restingBatchFits(batch)).toBe(true);
    // Without the shape, or following, there are none.
    expect(rules.nextBatch(NOW, Infinity, { scheduled: true })).not.toHaveProperty('rounds');
    const following = new ExportRules(input({ followIntervalSeconds: 300 }), ID, NOW).nextBatch(NOW, Infinity, { scheduled: true, following: true, rounds: true });
    expect(following).not.toHaveProperty('rounds');
    // No more requests than this run may still make: whole rounds only.
    expect(rules.nextBatch(NOW, 9, { scheduled: true, rounds: true }).rounds).toEqual({ count: 1, everyMs: every });
    expect(rules.nextBatch(NOW, 7, { scheduled: true, rounds: true })).not.toHaveProperty('rounds');
    // A first round short of the share (a slot frees only later than the batch sends) gets none: the next batch has a whole one.
    const partly = new ExportRules(input({ share: 4, initialSends: [NOW - 30_000, NOW - 30_000] }), ID, NOW);
    expect(partly.nextBatch(NOW, Infinity, { scheduled: true, rounds: true })).toMatchObject({ maxRequests: 2 });
    expect(partly.nextBatch(NOW, Infinity, { scheduled: true, rounds: true })).not.toHaveProperty('rounds');
    // A window too short to rest through (the sample endpoint's is long: 20 minutes, beyond a batch's rounds).
    const short = new ExportRules(input({ budget: { requests: 10, seconds: 5 }, share: 10 }), ID, NOW);
    expect(short.nextBatch(NOW, Infinity, { scheduled: true, rounds: true })).not.toHaveProperty('rounds');
    const long = new ExportRules(input({ budget: { requests: 10, seconds: 1200 }, share: 10 }), ID, NOW);
    expect(long.nextBatch(NOW, Infinity, { scheduled: true, rounds: true })).not.toHaveProperty('rounds');
  });

  it('finds a batch making rounds no longer fits once the share or the budget changes', () => {
    const rules = new ExportRules(input({ share: 4 }), ID, NOW);
    const batch = rules.nextBatch(NOW, Infinity, { scheduled: true, rounds: true });
    rules.acceptShare(4, BUDGET, [], NOW);
    expect(rules.restingBatchFits(batch)).toBe(true);
    rules.acceptShare(3, BUDGET, [], NOW);
    expect(rules.restingBatchFits(batch)).toBe(false);
    rules.acceptShare(5, BUDGET, [], NOW); // Larger: the batch would leave budget unused for minutes.
    expect(rules.restingBatchFits(batch)).toBe(false);
    rules.acceptShare(4, { requests: 10, seconds: 120 }, [], NOW);
    expect(rules.restingBatchFits(batch)).toBe(false);
    // A batch that neither polls nor makes rounds fits any share.
    expect(rules.restingBatchFits(rules.nextBatch(NOW))).toBe(true);
  });

  it('never asks for more than one batch may make', () => {
    const big = { requests: 5000, seconds: 60 };
    expect(new ExportRules(input({ budget: big, share: 5000 }), ID, NOW).nextBatch(NOW).maxRequests).toBe(MAX_REQUESTS_PER_BATCH);
  });
});

describe('a batch, taken in', () => {
  it("places the batch's sends on the workflow clock, failed attempts included", () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.applyBatch(result({ sentAgoMs: [3_000, 1_000, 0] }), NOW + 10_000);
    expect(rules.state.pace.sent).toEqual([NOW + 7_000, NOW + 9_000, NOW + 10_000]);
    // One request of the share of four is left until the first send leaves the window.
    expect(rules.nextBatch(NOW + 10_000).maxRequests).toBe(1);
    expect(rules.waitMs(NOW + 10_000)).toBe(0);
  });

  it('moves the position and adds up the counts', () => {
    const rules = new ExportRules(input(), ID, NOW);
    expect(rules.applyBatch(result(), NOW + 1).next).toEqual({ kind: 'go-on' });
    rules.applyBatch(result({ at: at(3000) }), NOW + 2);
    expect(rules.state.at.next).toEqual({ kind: 'time', startTime: 3000 });
    expect(rules.state.progress).toMatchObject({ pages: 4, records: 300, repeats: 6, sideloaded: 14, updatedAt: NOW + 2 });
  });

  it('waits exactly Retry-After after a 429, as a hold a pause cannot shorten', () => {
    const rules = new ExportRules(input(), ID, NOW);
    const { next } = rules.applyBatch(result({ pages: 0, sentAgoMs: [0], stop: 'rate-limited', retryAfter: { seconds: 42, capped: false } }), NOW);
    expect(next).toEqual({ kind: 'retry-after', ms: 42_000 });
    expect(rules.state.pace.notBefore).toBe(NOW + 42_000);
    expect(rules.waitMs(NOW + 1_000)).toBe(41_000);
    expect(rules.state.progress.rateLimited).toBe(1);
    expect(rules.state.notes).toEqual([]);
  });

  it('says so when Zendesk asked for more than the hour it waits', () => {
    const rules = new ExportRules(input(), ID, NOW);
    const { next } = rules.applyBatch(result({ pages: 0, stop: 'rate-limited', retryAfter: { seconds: 3600, capped: true } }), NOW);
    expect(next).toEqual({ kind: 'retry-after', ms: 3_600_000 });
    expect(rules.state.notes).toEqual([expect.stringMatching(/longer than an hour.*waiting an hour/)]);
  });

  it.each(['end-of-stream', 'caught-up'] as const)('is caught up on %s', (stop) => {
    const rules = new ExportRules(input(), ID, NOW);
    expect(rules.applyBatch(result({ stop }), NOW + 5).next).toEqual({ kind: 'caught-up' });
    expect(rules.state.progress.endOfStreamAt).toBe(NOW + 5);
  });

  it('has enough once the pages asked for are written', () => {
    const rules = new ExportRules(input({ maxPages: 3 }), ID, NOW);
    expect(rules.applyBatch(result({ pages: 2 }), NOW).next).toEqual({ kind: 'go-on' });
    expect(rules.applyBatch(result({ pages: 1 }), NOW).next).toEqual({ kind: 'enough' });
  });

  it('paces to a lower total that Zendesk reports, and tells the coordinator', () => {
    const rules = new ExportRules(input(), ID, NOW);
    const { tightened } = rules.applyBatch(result({ rateLimit: { total: 5, remaining: 3 } }), NOW);
    expect(tightened).toEqual({ requests: 5, seconds: 60 });
    expect(rules.state.pace.share).toBe(2);
    expect(rules.state.notes).toEqual([expect.stringMatching(/budget of 5 per 60s/)]);
    expect(rules.applyBatch(result({ rateLimit: { total: 5 } }), NOW).tightened).toBeUndefined();
  });

  it('holds until the bucket resets when someone else emptied it', () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.applyBatch(result({ sentAgoMs: [0], pages: 1, rateLimit: { total: 10, remaining: 0, resetsSeconds: 40 } }), NOW);
    expect(rules.state.pace.notBefore).toBe(NOW + 40_000);
    expect(rules.waitMs(NOW)).toBe(40_000);
  });

  it('keeps its own pacing when its own sends emptied the bucket', () => {
    const rules = new ExportRules(input({ share: 2 }), ID, NOW);
    rules.applyBatch(result({ sentAgoMs: [59_500, 0], rateLimit: { total: 10, remaining: 0, resetsSeconds: 1 } }), NOW);
    expect(rules.state.pace.notBefore).toBe(0);
    expect(rules.waitMs(NOW)).toBe(500 + WINDOW_MARGIN_MS);
  });

  it('notes what the batch reported', () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.applyBatch(result({ notes: ['switched endpoint'] }), NOW);
    expect(rules.state.notes).toEqual(['switched endpoint']);
  });

  it(`keeps only the last ${MAX_NOTES} notes: a follow export runs for months`, () => {
    const rules = new ExportRules(input(), ID, NOW);
    for (let i = 1; i <= MAX_NOTES + 5; i++) rules.note(`note ${i}`);
    rules.applyBatch(result({ notes: ['last'] }), NOW);
    expect(rules.state.notes).toHaveLength(MAX_NOTES);
    expect(rules.state.notes[0]).toBe('note 7');
    expect(rules.state.notes[MAX_NOTES - 1]).toBe('last');
  });
});

describe('failed requests', () => {
  const failed = (type: 'ZendeskTransientError' | 'ZendeskUnexpectedAnswerError' | 'DestinationError', message = 'Zendesk answered HTTP 503') =>
    result({ pages: 0, records: 0, stop: 'failed', failure: { type, message }, sentAgoMs: [0] });

  it('asks again after a backoff that doubles up to two minutes, its attempts counted as requests', () => {
    const rules = new ExportRules(input({ share: 10 }), ID, NOW);
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { next } = rules.applyBatch(failed('ZendeskTransientError'), NOW + i);
      expect(next.kind).toBe('retry');
      waits.push((next as { ms: number }).ms);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 120, 120, 120].map((s) => s * RETRY_INITIAL_MS));
    expect(Math.max(...waits)).toBe(RETRY_MAX_MS);
    expect(rules.state.retry).toMatchObject({ since: NOW, attempts: 10, type: 'ZendeskTransientError', message: 'Zendesk answered HTTP 503' });
    expect(rules.state.pace.sent).toHaveLength(10);
  });

  it('starts counting again once a page is written', () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.applyBatch(failed('DestinationError', 'Could not write page 3: ENOSPC'), NOW);
    rules.applyBatch(failed('DestinationError', 'Could not write page 3: ENOSPC'), NOW);
    expect(rules.state.retry?.attempts).toBe(2);
    rules.applyBatch(result({ pages: 1 }), NOW + 1);
    expect(rules.state.retry).toBeUndefined();
    expect(rules.applyBatch(failed('ZendeskTransientError'), NOW + 2).next).toEqual({ kind: 'retry', ms: RETRY_INITIAL_MS });
  });

  it('gives up after a day of failures, with the last one', () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.applyBatch(failed('ZendeskTransientError'), NOW);
    expect(rules.applyBatch(failed('ZendeskTransientError'), NOW + GIVE_UP_AFTER_MS - 1).next.kind).toBe('retry');
    expect(rules.applyBatch(failed('ZendeskTransientError', 'Zendesk answered HTTP 500'), NOW + GIVE_UP_AFTER_MS).next).toEqual({
      kind: 'give-up',
      type: 'ZendeskTransientError',
      message: 'Gave up after a day of failed attempts: Zendesk answered HTTP 500',
    });
  });

  it("gives up sooner on answers that are not Zendesk's: a wrong base URL does not mend itself", () => {
    const rules = new ExportRules(input(), ID, NOW);
    const steps = Array.from({ length: UNEXPECTED_ANSWER_ATTEMPTS }, (_, i) => rules.applyBatch(failed('ZendeskUnexpectedAnswerError', 'Zendesk answered an HTML page'), NOW + i).next);
    expect(steps.slice(0, -1).every((s) => s.kind === 'retry')).toBe(true);
    expect(steps[steps.length - 1]).toEqual({ kind: 'give-up', type: 'ZendeskUnexpectedAnswerError', message: `Zendesk answered an HTML page (${UNEXPECTED_ANSWER_ATTEMPTS} attempts)` });
  });
});

describe('shares and resumes', () => {
  it("takes the coordinator's new share with sends that still count against it", () => {
    const rules = new ExportRules(input(), ID, NOW);
    rules.acceptShare(2, BUDGET, [NOW - 1_000, NOW - 500]);
    expect(rules.nextBatch(NOW).maxRequests).toBe(1); // Asked for 1 at least; none allowed before the wait.
    expect(rules.waitMs(NOW)).toBe(59_000 + WINDOW_MARGIN_MS);
    rules.acceptShare(0, BUDGET, []);
    expect(rules.waitMs(NOW)).toBe(Infinity);
  });

  it('resumes from its carried state, under the share it is given now', () => {
    const first = new ExportRules(input({ share: 10 }), ID, NOW);
    first.applyBatch(result({ sentAgoMs: [2_000, 1_000, 0] }), NOW);
    first.fail('boom', NOW);
    const carried = JSON.parse(JSON.stringify(first.carry())) as ExportInput;
    expect([carried.share, carried.initialSends]).toEqual([undefined, undefined]);
    const resumed = new ExportRules({ ...carried, share: 2, initialSends: [NOW + 500] }, ID, NOW + 1_000);
    expect(resumed.state).toMatchObject({ status: 'running', error: undefined, at: { next: { startTime: 2000 } }, origin: first.state.origin });
    expect(resumed.state.pace).toMatchObject({ share: 2, sent: [NOW, NOW + 500] });
    expect(resumed.state.progress.pages).toBe(2);
    expect(resumed.nextBatch(NOW + 1_000).firstPage).toBe(3);
  });

  it("takes only shares numbered after the last one it took, and carries that number on", () => {
    const rules = new ExportRules(input({ share: 1, shareSeq: 100 }), ID, NOW);
    expect([99, 100, '101', 1.5, undefined].map((seq) => rules.isNewShare(seq))).toEqual([false, false, false, false, false]);
    expect(rules.isNewShare(101)).toBe(true);
    rules.acceptShare(2, BUDGET, [], NOW, 150);
    expect([rules.isNewShare(150), rules.isNewShare(151)]).toEqual([false, true]);
    const next = new ExportRules(rules.carry(), ID, NOW + 1);
    expect([next.input.shareSeq, next.isNewShare(150)]).toEqual([150, false]);
    // An export whose coordinator numbers no shares (one of 0.3.0) counts none as old.
    expect(new ExportRules(input(), ID, NOW).isNewShare(1)).toBe(true);
  });

  it('keeps its carried share across continue-as-new, and stays paused if it was', () => {
    const first = new ExportRules(input({ share: 3 }), ID, NOW);
    first.state.paused = true;
    const next = new ExportRules(first.carry(), ID, NOW + 1);
    expect(next.state.pace.share).toBe(3);
    expect(next.state.status).toBe('paused');
  });
});

describe('results the workflow does not believe, and the ceiling', () => {
  const CEILINGS = { 'incremental-exports': { requests: 3, seconds: 2 }, 'incremental-exports-cursor': { requests: 20, seconds: 60 }, sample: { requests: 10, seconds: 1200 } };

  it('a refused result is a failed batch that spent every request it was allowed; the next batch resumes from the checkpoint', () => {
    const rules = new ExportRules(input({ share: 10 }), ID, NOW);
    const request = rules.nextBatch(NOW, Infinity, { scheduled: true });
    const refused = rules.refusedBatch(request, 'it carries no seal of this deployment');
    const { next } = rules.applyBatch(refused, NOW);
    expect(next).toEqual({ kind: 'retry', ms: RETRY_INITIAL_MS });
    expect(rules.state.at).toEqual(request.at);
    expect(rules.state.progress.pages).toBe(0);
    expect(rules.state.pace.sent).toHaveLength(Math.min(10, request.maxRequests + (request.laterMs?.length ?? 0)));
    expect(rules.state.notes.join(' ')).toMatch(/Refused a batch's result .* no seal/);
    expect(rules.nextBatch(NOW + 60_000).resume).toBe(true);
    rules.applyBatch(result({ at: at(3000) }), NOW + 61_000);
    expect(rules.nextBatch(NOW + 200_000).resume).toBeUndefined();
  });

  it('a 0.3.0 export carrying a refused result under its old failure type resumes from the checkpoint too', () => {
    const carried = new ExportRules(input(), ID, NOW).carry();
    const retry = { since: NOW, attempts: 1, type: 'RefusedRunResult', message: 'Refused a run result' };
    const rules = new ExportRules({ ...carried, state: { ...carried.state!, retry } }, ID, NOW);
    expect(rules.nextBatch(NOW + 60_000).resume).toBe(true);
  });

  it('caps a Retry-After at an hour, and an empty bucket at its window, in the workflow too', () => {
    const rules = new ExportRules(input(), ID, NOW);
    expect(rules.applyBatch(result({ pages: 0, at: rules.state.at, stop: 'rate-limited', retryAfter: { seconds: 3e9, capped: false } }), NOW).next).toEqual({ kind: 'retry-after', ms: 3600_000 });
    const other = new ExportRules(input({ share: 1 }), ID, NOW);
    other.applyBatch(result({ sentAgoMs: [0], pages: 1, rateLimit: { remaining: 0, resetsSeconds: 1e9 } }), NOW);
    expect(other.state.pace.notBefore).toBeLessThanOrEqual(NOW + BUDGET.seconds * 1000);
  });

  it("holds its budget and share to the ceiling, a share never above its budget, and others' sends to now", () => {
    const rules = new ExportRules(input({ budget: { requests: 1000, seconds: 1 }, share: 1000 }), ID, NOW);
    rules.limitTo(CEILINGS);
    expect(rules.state.pace).toMatchObject({ budget: { requests: 3, seconds: 2 }, share: 3 });
    rules.acceptShare(1000, { requests: 1000, seconds: 1 }, [NOW + 100 * 365 * 86_400_000], NOW);
    expect(rules.state.pace).toMatchObject({ budget: { requests: 3, seconds: 2 }, share: 3 });
    expect(Math.max(...rules.state.pace.sent)).toBeLessThanOrEqual(NOW + 10_000);
    const alone = new ExportRules(input(), ID, NOW);
    alone.acceptShare(50, BUDGET, []);
    expect(alone.state.pace.share).toBe(BUDGET.requests);
  });
});
