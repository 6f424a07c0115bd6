/**
 * The page activity's own rules, driven exactly: where a retried run resumes (heartbeat or the
 * destination's checkpoint, whichever is later and is this batch's), how many requests it may still
 * make, when it stops, and which failures it hands back to the workflow. Zendesk and the destination
 * are small fakes here; the integration tests run the real ones.
 */
import { ApplicationFailure, type Context } from '@temporalio/activity';
import type { BatchInput, BatchProgress, BatchCheckpoint } from '../../contract/page-activity';
import type { Destination, PageWrite } from '../../activities/destinations';
import { fetchPagesWith, POLL_LEAD_MS, type FetchPagesDeps } from '../../activities/fetch-pages';
import { BATCH_SENDING_MS } from '../../contract/limits';
import { ZendeskAuthError, ZendeskConfigError, ZendeskReauthorizationError, ZendeskTransientError } from '../../zendesk/errors';
import type { ZendeskClient } from '../../zendesk/http-client';
import type { Page } from '../../zendesk/page';
import { startPosition } from '../../zendesk/paging';

const organization = (id: number, second: number) => {
  const value = { id, updated_at: new Date(second * 1000).toISOString() };
  return { value, text: JSON.stringify(value) };
};

/** A Zendesk with one page per second from `first`: page n holds organization n at second first+n. */
function zendesk(first: number, answers: Partial<Record<number, Error | Partial<Page>>> = {}) {
  const asked: number[] = [];
  const client = {
    async fetchPage(_e: unknown, _r: unknown, params: Record<string, string>): Promise<Page> {
      const start = Number(params.start_time);
      asked.push(start);
      const n = start - first + 1;
      const answer = answers[asked.length];
      if (answer instanceof Error) throw answer;
      return { resource: 'organizations', records: [organization(n, start)], sideloads: {}, endOfStream: false, endTime: start + 1, rateLimit: {}, ...answer };
    },
  };
  return { client: client as unknown as ZendeskClient, asked };
}

function memoryDestination(checkpoint?: unknown): Destination & { pages: PageWrite[]; troubles: [string, string, string][] } {
  const pages: PageWrite[] = [];
  const troubles: [string, string, string][] = [];
  return {
    pages,
    troubles,
    writePage: async (page) => void pages.push(page),
    readCheckpoint: async () => checkpoint,
    recordTrouble: async (key, trouble, reason) => void troubles.push([key.exportId, trouble, reason]),
    close: async () => undefined,
  };
}

function input(maxRequests: number, firstPage = 1): BatchInput {
  return {
    target: { account: 'acme', resource: 'organizations', options: {}, destination: { kind: 'ndjson', dir: '/x' }, exportId: 'zendesk-export/acme/organizations/organizations', origin: '20260101T000000.000Z-organizations' },
    at: startPosition('organizations', { kind: 'time', startTime: 1000 }),
    firstPage,
    maxRequests,
  };
}

/**
 * An activity context on attempt `attempt`, with the details an earlier attempt heartbeated; this
 * attempt scheduled `sinceFirstMs` after the batch's first (by the server's stamps, far from this clock).
 */
function context(attempt: number, heartbeatDetails?: unknown, aborted = () => false, sinceFirstMs = 0): Context {
  const beats: unknown[] = [];
  const first = 1_000_000_000;
  return {
    info: { attempt, heartbeatDetails, scheduledTimestampMs: first, currentAttemptScheduledTimestampMs: first + sinceFirstMs },
    heartbeat: (d: unknown) => void beats.push(d),
    get cancellationSignal() {
      return { aborted: aborted() } as AbortSignal;
    },
  } as unknown as Context;
}

const deps = (client: ZendeskClient, destination: Destination): FetchPagesDeps => ({ clientFor: () => client, destinationFor: () => destination });

function progress(pages: number, sends: number[]): BatchProgress {
  return { at: startPosition('organizations', { kind: 'time', startTime: 1000 + pages }), pages, records: pages, repeats: 0, sideloaded: 0, sentAt: sends, notes: [] };
}

test('a first attempt makes the requests it is allowed, writes each page with its batch checkpoint, and reports every send', async () => {
  const { client, asked } = zendesk(1000);
  const destination = memoryDestination();
  const result = await fetchPagesWith(deps(client, destination), input(3), context(1));
  expect(asked).toEqual([1000, 1001, 1002]);
  expect(result).toMatchObject({ pages: 3, records: 3, stop: 'budget', at: { next: { startTime: 1003 } } });
  expect(result.sentAgoMs).toHaveLength(3);
  expect(destination.pages.map((p) => [p.pageNumber, p.checkpoint.pages, p.checkpoint.firstPage])).toEqual([[1, 1, 1], [2, 2, 1], [3, 3, 1]]);
});

test("a retried run resumes from its destination's checkpoint when that is ahead of the heartbeat", async () => {
  const { client, asked } = zendesk(1000);
  const kept: BatchCheckpoint = { ...progress(4, [1, 2, 3, 4]), exportId: input(10).target.exportId, origin: input(10).target.origin, firstPage: 1 };
  const result = await fetchPagesWith(deps(client, memoryDestination(kept)), input(10), context(2, progress(2, [1, 2])));
  expect(asked[0]).toBe(1004); // Not 1002: pages 3 and 4 were written, only their heartbeat was lost.
  // Ten allowed, four recorded, one more counted for the attempt that died (its request in flight).
  expect(asked).toHaveLength(10 - 4 - 1);
  expect(result.pages).toBe(4 + 5);
});

test("a checkpoint of another run, or a malformed one, is not believed: the heartbeat stands", async () => {
  for (const kept of [
    { ...progress(4, [1, 2, 3, 4]), exportId: input(10).target.exportId, origin: input(10).target.origin, firstPage: 7 },
    { ...progress(4, [1, 2, 3, 4]), exportId: 'zendesk-export/other/organizations/organizations', origin: input(10).target.origin, firstPage: 1 },
    { ...progress(4, [1, 2, 3, 4]), at: { endpoint: 'users_time' }, exportId: input(10).target.exportId, origin: input(10).target.origin, firstPage: 1 },
    'not json at all',
  ]) {
    const { client, asked } = zendesk(1000);
    await fetchPagesWith(deps(client, memoryDestination(kept)), input(10), context(2, progress(2, [1, 2])));
    expect(asked[0]).toBe(1002);
  }
});

test("a retry sends only within its batch's sending time, counted from the batch's first schedule", async () => {
  const soon = zendesk(1002);
  const early = await fetchPagesWith(deps(soon.client, memoryDestination()), input(10), context(2, progress(2, [1, 2]), undefined, 2_600));
  expect(soon.asked[0]).toBe(1002);
  expect(early.pages).toBeGreaterThan(2);

  // The worker was down past the sending time: the batch hands back where it stands and sends nothing,
  // so the workflow paces a new run instead of spending a share it may no longer hold.
  const late = zendesk(1002);
  const result = await fetchPagesWith(deps(late.client, memoryDestination()), input(10), context(2, progress(2, [1, 2]), undefined, 60_000));
  expect(late.asked).toEqual([]);
  expect(result).toMatchObject({ pages: 2, stop: 'budget', at: { next: { startTime: 1002 } } });
  expect(result.sentAgoMs).toHaveLength(3); // Its two sends and the one counted for the attempt that died.
});

describe('the send schedule (on fake timers: time moves only when the test moves it)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('a batch sends each request no earlier than its slot, measured from when the batch began', async () => {
    const { client, asked } = zendesk(1000);
    const run = fetchPagesWith(deps(client, memoryDestination()), { ...input(1), laterMs: [150, 300] }, context(1));
    await jest.advanceTimersByTimeAsync(149);
    expect(asked).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(asked).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(150);
    expect(await run).toMatchObject({ pages: 3, stop: 'budget' });
  });

  test('a batch whose heartbeats lapsed (its thread too busy to beat within the timeout) makes no more requests: another attempt may be sending', async () => {
    const stalls = (stallMs: number) => {
      const destination = memoryDestination();
      // The first page's write holds the thread for `stallMs`: no timer runs, so no heartbeat either.
      const write = destination.writePage;
      destination.writePage = async (page) => {
        if (page.pageNumber === 1) jest.setSystemTime(Date.now() + stallMs);
        return write(page);
      };
      return destination;
    };
    const beating = (): Context => Object.assign(context(1), { info: { ...context(1).info, heartbeatTimeoutMs: 1500 } });
    for (const [stallMs, pages] of [[1000, 3], [1300, 1]] as const) {
      const { client, asked } = zendesk(1000);
      const result = await fetchPagesWith(deps(client, stalls(stallMs)), input(3), beating());
      expect([asked.length, result.pages, result.stop]).toEqual([pages, pages, 'budget']);
    }
  });

  test('a retry counts the schedule from the batch\'s first attempt: slots already past are not waited for again', async () => {
    const { client, asked } = zendesk(1002);
    // Four allowed, two recorded, one counted for the attempt that died: one left, whose slot is 400 ms
    // after the batch began, which was 300 ms before this attempt.
    const run = fetchPagesWith(deps(client, memoryDestination()), { ...input(3), laterMs: [400] }, context(2, progress(2, [1, 2]), undefined, 300));
    await jest.advanceTimersByTimeAsync(99);
    expect(asked).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(asked).toHaveLength(1);
    expect(await run).toMatchObject({ pages: 3 });
  });

  test("a request counts from when its answer came, not from when it left: a slow Zendesk may count it late", async () => {
    const { client } = zendesk(1000);
    const slow = { fetchPage: async (...args: Parameters<ZendeskClient['fetchPage']>) => (await new Promise((r) => setTimeout(r, 200)), client.fetchPage(...args)) };
    const run = fetchPagesWith(deps(slow as ZendeskClient, memoryDestination()), input(2), context(1));
    await jest.advanceTimersByTimeAsync(400);
    // Each answer came 200 ms after its request left; the batch ended at the second answer.
    expect((await run).sentAgoMs).toEqual([200, 0]);
  });

  test('a pause or shutdown during a wait for a slot ends the batch at once, having sent nothing more', async () => {
    const { client, asked } = zendesk(1000);
    const controller = new AbortController();
    const ctx = context(1);
    Object.defineProperty(ctx, 'cancellationSignal', { get: () => controller.signal });
    const run = fetchPagesWith(deps(client, memoryDestination()), { ...input(1), laterMs: [9_000] }, ctx);
    await jest.advanceTimersByTimeAsync(50);
    controller.abort();
    // Resolves with no more time passing: the wait ended with the signal, not with its timer.
    expect(await run).toMatchObject({ pages: 1, stop: 'cancelled' });
    expect(asked).toHaveLength(1);
  });
});

describe('follow polls (on fake timers)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  const EVERY = 300_000;
  /** A caught-up export's batch: one request now, then a poll each interval. */
  const following = (polls: number): BatchInput => ({ ...input(1), pollsMs: Array.from({ length: polls }, (_, i) => (i + 1) * EVERY) });
  /** Every answer ends the stream, unless `answers` says otherwise. */
  const caughtUp = (answers: Partial<Record<number, Error | Partial<Page>>> = {}) =>
    zendesk(1000, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i + 1, answers[i + 1] instanceof Error ? answers[i + 1] : { endOfStream: true, ...answers[i + 1] }])));
  /** A context that keeps its heartbeats with the time each was sent. */
  function watched(attempt = 1, sinceFirstMs = 0) {
    const controller = new AbortController();
    const beats: number[] = [];
    const ctx = context(attempt, undefined, undefined, sinceFirstMs);
    Object.assign(ctx, { heartbeat: () => void beats.push(Date.now()) });
    Object.defineProperty(ctx, 'cancellationSignal', { get: () => controller.signal });
    return { ctx, beats, cancel: () => controller.abort() };
  }

  test('a caught-up batch rests between its polls without heartbeats, and heartbeats once just before each', async () => {
    const { client, asked } = caughtUp();
    const { ctx, beats } = watched();
    const began = Date.now();
    const run = fetchPagesWith(deps(client, memoryDestination()), following(3), ctx);
    await jest.advanceTimersByTimeAsync(EVERY - POLL_LEAD_MS - 1);
    expect(asked).toHaveLength(1);
    // Resting: no heartbeat but the one as the rest began, after the first page.
    expect(beats.map((t) => t - began)).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(beats.map((t) => t - began)).toEqual([0, EVERY - POLL_LEAD_MS]);
    await jest.advanceTimersByTimeAsync(POLL_LEAD_MS);
    expect(asked).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    const result = await run;
    expect(asked).toHaveLength(4);
    expect(result).toMatchObject({ pages: 4, stop: 'end-of-stream' });
    expect(result.sentAgoMs).toEqual([3 * EVERY, 2 * EVERY, EVERY, 0]);
    // Two heartbeats a poll, as the rest before it begins and just before it, and none with the pages.
    expect(beats.map((t) => t - began)).toEqual([1, 2, 3].flatMap((k) => [(k - 1) * EVERY, k * EVERY - POLL_LEAD_MS]));
  });

  test('a poll that finds more than a page ends the batch: the workflow paces the rest', async () => {
    const { client, asked } = caughtUp({ 2: { endOfStream: false } });
    const run = fetchPagesWith(deps(client, memoryDestination()), following(3), watched().ctx);
    await jest.advanceTimersByTimeAsync(EVERY);
    expect(await run).toMatchObject({ pages: 2, stop: 'budget' });
    expect(asked).toHaveLength(2);
  });

  test('a first page that is not the last ends the batch too, before any rest', async () => {
    const { client, asked } = caughtUp({ 1: { endOfStream: false } });
    expect(await fetchPagesWith(deps(client, memoryDestination()), following(3), watched().ctx)).toMatchObject({ pages: 1, stop: 'budget' });
    expect(asked).toHaveLength(1);
  });

  test('a cancel (a pause, a smaller share) or the worker stopping ends a rest at once, and the poll is not made', async () => {
    for (const how of ['cancel', 'stop'] as const) {
      const { client, asked } = caughtUp();
      const { ctx, cancel } = watched();
      const stopping = new AbortController();
      const run = fetchPagesWith({ ...deps(client, memoryDestination()), stopping: stopping.signal }, following(3), ctx);
      await jest.advanceTimersByTimeAsync(EVERY / 2);
      if (how === 'cancel') cancel();
      else stopping.abort();
      expect(await run).toMatchObject({ pages: 1, stop: 'cancelled' });
      expect(asked).toHaveLength(1);
    }
  });

  test('a poll refused for good hands back the pages before it; the next batch meets the refusal alone', async () => {
    const { client, asked } = caughtUp({ 3: new ZendeskAuthError('Zendesk refused the credentials (HTTP 401).') });
    const run = fetchPagesWith(deps(client, memoryDestination()), following(3), watched().ctx);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    expect(await run).toMatchObject({ pages: 2, stop: 'budget' });
    expect(asked).toHaveLength(3);
    // Nothing written yet: thrown, and the export fails at once.
    const alone = caughtUp({ 1: new ZendeskAuthError('Zendesk refused the credentials (HTTP 401).') });
    await expect(fetchPagesWith(deps(alone.client, memoryDestination()), following(3), watched().ctx)).rejects.toMatchObject({ type: 'ZendeskAuthError', nonRetryable: true });
  });

  test('an account the worker stopped serving while the batch rested is not polled', async () => {
    const { client, asked } = caughtUp();
    let served = true;
    let refreshed = 0;
    const gone: FetchPagesDeps = {
      ...deps(client, memoryDestination()),
      clientFor: () => {
        if (!served) throw new ZendeskConfigError('No credentials for account acme.');
        return client;
      },
      refresh: async () => void refreshed++,
    };
    const run = fetchPagesWith(gone, following(3), watched().ctx);
    await jest.advanceTimersByTimeAsync(EVERY);
    served = false;
    await jest.advanceTimersByTimeAsync(EVERY);
    expect(await run).toMatchObject({ pages: 2, stop: 'budget' });
    expect(asked).toHaveLength(2);
    expect(refreshed).toBe(2); // Read again before each poll.
  });

  test('a retry that comes after a poll was due, beyond the time a batch may send, hands back without polling', async () => {
    const { client, asked } = caughtUp();
    // The first attempt's worker died; its heartbeat timeout and the retry came 2 minutes after the first poll's time.
    const { ctx } = watched(2, EVERY + 120_000);
    const run = fetchPagesWith(deps(client, memoryDestination()), following(3), ctx);
    await jest.advanceTimersByTimeAsync(0);
    expect(await run).toMatchObject({ pages: 0, stop: 'budget' });
    expect(asked).toEqual([]);
  });

  test('a retry within a poll\'s sending time makes it, and rests on to the next', async () => {
    const { client, asked } = caughtUp();
    const { ctx } = watched(2, EVERY + BATCH_SENDING_MS / 2);
    const run = fetchPagesWith(deps(client, memoryDestination()), following(2), ctx);
    await jest.advanceTimersByTimeAsync(0);
    expect(asked).toHaveLength(1); // The first poll, late.
    await jest.advanceTimersByTimeAsync(EVERY);
    expect(await run).toMatchObject({ pages: 2, stop: 'end-of-stream' });
  });
});

describe('rounds (on fake timers)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  const EVERY = 60_050;
  const LATENCY = 700;
  /** A backfill held to its budget: a round of three now, then `count` more, a window apart. */
  const rounding = (count: number): BatchInput => ({ ...input(3), rounds: { count, everyMs: EVERY } });
  /** A Zendesk that takes `latency` to answer (LATENCY; or a time for the k-th answer, from 0), keeping when each request left (ms after `began`). */
  function slowZendesk(answers: Partial<Record<number, Error | Partial<Page>>> = {}, latency: number | ((k: number) => number) = LATENCY) {
    const inner = zendesk(1000, answers);
    const began = Date.now();
    const leftAt: number[] = [];
    const client = {
      async fetchPage(...args: Parameters<ZendeskClient['fetchPage']>) {
        leftAt.push(Date.now() - began);
        await new Promise((r) => setTimeout(r, typeof latency === 'number' ? latency : latency(leftAt.length - 1)));
        return inner.client.fetchPage(...args);
      },
    } as unknown as ZendeskClient;
    return { client, leftAt, asked: inner.asked, began };
  }
  function watched() {
    const controller = new AbortController();
    const beats: number[] = [];
    const ctx = context(1);
    Object.assign(ctx, { heartbeat: () => void beats.push(Date.now()) });
    Object.defineProperty(ctx, 'cancellationSignal', { get: () => controller.signal });
    return { ctx, beats, cancel: () => controller.abort() };
  }

  test("each round's request leaves a window after the answer to its twin of the round before, so no window holds more than a round", async () => {
    const { client, leftAt, began } = slowZendesk();
    const { ctx, beats } = watched();
    const run = fetchPagesWith(deps(client, memoryDestination()), rounding(2), ctx);
    await jest.advanceTimersByTimeAsync(3 * EVERY);
    const result = await run;
    expect(result).toMatchObject({ pages: 9, stop: 'budget' });
    // Answered at LATENCY after leaving: the twin's answer plus EVERY, or the request before's answer, whichever is later.
    expect(leftAt).toEqual([0, 700, 1400, 700 + EVERY, 1400 + EVERY, 2100 + EVERY, 1400 + 2 * EVERY, 2100 + 2 * EVERY, 2800 + 2 * EVERY]);
    const answered = leftAt.map((t) => t + LATENCY);
    for (let k = 3; k < leftAt.length; k++) expect(leftAt[k]! - answered[k - 3]!).toBeGreaterThanOrEqual(EVERY);
    // Silent between rounds but for one heartbeat just before each.
    const restBeats = beats.map((t) => t - began).filter((t) => t > answered[2]! + 500 && t < leftAt[3]!);
    expect(restBeats).toEqual([leftAt[3]! - POLL_LEAD_MS]);
    // And not with each page: a round that sends for less than the keepalive's 5 s heartbeats only
    // as it ends (its rest begins: the heartbeat timeout counts from there) and before the next.
    expect(beats.map((t) => t - began)).toEqual([answered[2]!, leftAt[3]! - POLL_LEAD_MS, answered[5]!, leftAt[6]! - POLL_LEAD_MS]);
  });

  test('a round that sends for longer heartbeats every 5 s while it does, so its worker is not taken for dead', async () => {
    const { client, began } = slowZendesk({}, 4_000);
    const { ctx, beats } = watched();
    const run = fetchPagesWith(deps(client, memoryDestination()), rounding(1), ctx);
    await jest.advanceTimersByTimeAsync(12_000);
    expect(beats.map((t) => t - began)).toEqual([5_000, 10_000, 12_000]);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    expect(await run).toMatchObject({ pages: 6 });
  });

  test("answers too slow for a share in the batch's sending time do not cut a first round, which may send for its window: the rounds go on", async () => {
    const slow = 1_700; // Ten requests in a row take 17 s, past BATCH_SENDING_MS.
    const { client, leftAt } = slowZendesk({}, slow);
    const run = fetchPagesWith(deps(client, memoryDestination()), { ...input(10), rounds: { count: 1, everyMs: EVERY } }, watched().ctx);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    expect(await run).toMatchObject({ pages: 20, stop: 'budget' });
    expect(leftAt.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, k) => k * slow));
    expect(leftAt[9]).toBeGreaterThan(BATCH_SENDING_MS);
    for (let k = 10; k < 20; k++) expect(leftAt[k]! - (leftAt[k - 10]! + slow)).toBeGreaterThanOrEqual(EVERY);

    // A plain batch keeps to its sending time: what is left waits for the workflow's next batch.
    const plain = slowZendesk({}, slow);
    const cut = fetchPagesWith(deps(plain.client, memoryDestination()), input(10), watched().ctx);
    await jest.advanceTimersByTimeAsync(20 * slow);
    expect(await cut).toMatchObject({ pages: Math.ceil(BATCH_SENDING_MS / slow), stop: 'budget' });

    // A first round slower than its window is cut at the window's end, and makes no rounds.
    const slower = 7_000;
    const crawling = slowZendesk({}, slower);
    const long = fetchPagesWith(deps(crawling.client, memoryDestination()), { ...input(10), rounds: { count: 1, everyMs: EVERY } }, watched().ctx);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    expect(await long).toMatchObject({ pages: Math.ceil(EVERY / slower), stop: 'budget' });
  });

  test('a round slower than the one before is not cut, though each request leaves later after its slot than the one before', async () => {
    // Answers of 0.5 s in the first round and 2 s in the second: the second round's k-th request leaves 1.5 s × k after its slot.
    const latency = (k: number) => (k < 10 ? 500 : 2_000);
    const { client, leftAt } = slowZendesk({}, latency);
    const run = fetchPagesWith(deps(client, memoryDestination()), { ...input(10), rounds: { count: 2, everyMs: EVERY } }, watched().ctx);
    await jest.advanceTimersByTimeAsync(4 * EVERY);
    expect(await run).toMatchObject({ pages: 30, stop: 'budget' });
    const answeredAt = (k: number) => leftAt[k]! + latency(k);
    for (let k = 10; k < 30; k++) expect(leftAt[k]! - answeredAt(k - 10)).toBeGreaterThanOrEqual(EVERY); // Never crowds a window.
    expect(leftAt[19]! - (answeredAt(9) + EVERY)).toBeGreaterThan(BATCH_SENDING_MS); // Later after its slot than a request alone may be.

    // A round that would leave a window after it was due is cut there, and the rounds end.
    const crawl = slowZendesk({}, (k) => (k < 10 ? 500 : 7_000));
    const cut = fetchPagesWith(deps(crawl.client, memoryDestination()), { ...input(10), rounds: { count: 2, everyMs: EVERY } }, watched().ctx);
    await jest.advanceTimersByTimeAsync(4 * EVERY);
    expect(await cut).toMatchObject({ pages: 10 + Math.ceil(EVERY / 7_000), stop: 'budget' });
  });

  test('a cancel (a pause, a new share) or the worker stopping ends a rest, and the next round is not made', async () => {
    for (const how of ['cancel', 'stop'] as const) {
      const { client, asked } = slowZendesk();
      const { ctx, cancel } = watched();
      const stopping = new AbortController();
      const run = fetchPagesWith({ ...deps(client, memoryDestination()), stopping: stopping.signal }, rounding(2), ctx);
      await jest.advanceTimersByTimeAsync(EVERY / 2);
      if (how === 'cancel') cancel();
      else stopping.abort();
      await jest.advanceTimersByTimeAsync(0);
      expect(await run).toMatchObject({ pages: 3, stop: 'cancelled' });
      expect(asked).toHaveLength(3);
    }
  });

  test('a worker short of activity slots does not hold one through a rest: the batch reports after its round', async () => {
    const { client, asked } = slowZendesk();
    const run = fetchPagesWith({ ...deps(client, memoryDestination()), mayRest: () => false }, rounding(2), watched().ctx);
    await jest.advanceTimersByTimeAsync(3 * LATENCY);
    expect(await run).toMatchObject({ pages: 3, stop: 'budget' });
    expect(asked).toHaveLength(3);
  });

  test("an empty bucket at a round's end is the round's own doing: the next round, a window on, goes on; one mid-round ends the batch", async () => {
    // However late the header is read, or whatever reset it says: the twin of the next round's request was in the bucket's window.
    for (const rateLimit of [{ remaining: 0, resetsSeconds: 59 }, { remaining: 0, resetsSeconds: 62 }, { remaining: 0 }]) {
      const own = slowZendesk({ 3: { rateLimit } });
      const run = fetchPagesWith(deps(own.client, memoryDestination()), rounding(1), watched().ctx);
      await jest.advanceTimersByTimeAsync(2 * EVERY);
      expect(await run).toMatchObject({ pages: 6, stop: 'budget' });
    }
    // Someone else spent the bucket: empty before the round is through.
    const other = slowZendesk({ 2: { rateLimit: { remaining: 0, resetsSeconds: 59 } } });
    const ended = fetchPagesWith(deps(other.client, memoryDestination()), rounding(1), watched().ctx);
    await jest.advanceTimersByTimeAsync(3 * LATENCY);
    expect(await ended).toMatchObject({ pages: 2, stop: 'budget' });
  });

  test('the end of the stream, a 429 or a failure ends the batch in its round', async () => {
    const ended = slowZendesk({ 2: { endOfStream: true } });
    const run = fetchPagesWith(deps(ended.client, memoryDestination()), rounding(2), watched().ctx);
    await jest.advanceTimersByTimeAsync(2 * LATENCY);
    expect(await run).toMatchObject({ pages: 2, stop: 'end-of-stream' });
    const failing = slowZendesk({ 5: new ZendeskTransientError('Zendesk answered HTTP 503') });
    const failed = fetchPagesWith(deps(failing.client, memoryDestination()), rounding(2), watched().ctx);
    await jest.advanceTimersByTimeAsync(2 * EVERY);
    expect(await failed).toMatchObject({ pages: 4, stop: 'failed' });
    expect(failing.asked).toHaveLength(5);
  });
});

test('a retry whose earlier attempts spent the allowance makes no request, and says how many were spent', async () => {
  const { client, asked } = zendesk(1000);
  const result = await fetchPagesWith(deps(client, memoryDestination()), input(2), context(3));
  expect(asked).toEqual([]);
  expect(result).toMatchObject({ pages: 0, stop: 'budget' });
  expect(result.sentAgoMs).toHaveLength(2);
});

test('a failure asking again may mend goes back to the workflow with the pages written; one it cannot mend is thrown', async () => {
  const transient = zendesk(1000, { 3: new ZendeskTransientError('Zendesk answered HTTP 503') });
  const result = await fetchPagesWith(deps(transient.client, memoryDestination()), input(5), context(1));
  expect(result).toMatchObject({ pages: 2, stop: 'failed', failure: { type: 'ZendeskTransientError', message: 'Zendesk answered HTTP 503' } });
  expect(result.sentAgoMs).toHaveLength(3); // The failed request counts too.

  const refused = zendesk(1000, { 1: new ZendeskAuthError('Zendesk rejected the credentials', 401) });
  await expect(fetchPagesWith(deps(refused.client, memoryDestination()), input(5), context(1))).rejects.toMatchObject({ type: 'ZendeskAuthError', nonRetryable: true });
});

test('the destination hears how a batch ended in trouble, and each page says whether it reached the end of the stream', async () => {
  const id = input(1).target.exportId;
  const transient = memoryDestination();
  await fetchPagesWith(deps(zendesk(1000, { 2: new ZendeskTransientError('Zendesk answered HTTP 503') }).client, transient), input(5), context(1));
  expect(transient.troubles).toEqual([[id, 'retrying', 'Zendesk answered HTTP 503']]);

  const refused = memoryDestination();
  await fetchPagesWith(deps(zendesk(1000, { 1: new ZendeskAuthError('Zendesk rejected the credentials', 401) }).client, refused), input(5), context(1)).catch(() => undefined);
  expect(refused.troubles).toEqual([[id, 'failed', 'Zendesk rejected the credentials']]);

  // Thrown but retryable (here the account's client cannot be had for a moment): Temporal asks again.
  const unsure = memoryDestination();
  const unsureDeps = { clientFor: () => { throw new Error('registry unreachable'); }, destinationFor: () => unsure };
  await expect(fetchPagesWith(unsureDeps, input(5), context(1))).rejects.toMatchObject({ nonRetryable: false });
  expect(unsure.troubles).toEqual([[id, 'retrying', 'registry unreachable']]);

  // A lost grant is found before any request, when the worker looks for the account's client.
  const lost = memoryDestination();
  const reconnect = 'Account "acme" needs re-authorization: reconnect it.';
  const lostDeps = { clientFor: () => { throw new ZendeskReauthorizationError(reconnect); }, destinationFor: () => lost };
  await expect(fetchPagesWith(lostDeps, input(5), context(1))).rejects.toMatchObject({ type: 'ZendeskReauthorizationError' });
  expect(lost.troubles).toEqual([[id, 'needs-reauthorization', reconnect]]);

  const end = memoryDestination();
  await fetchPagesWith(deps(zendesk(1000, { 2: { endOfStream: true } }).client, end), input(5), context(1));
  expect(end.pages.map((p) => p.endOfStream)).toEqual([false, true]);
  expect(end.troubles).toEqual([]);
});

test("stops when Zendesk's bucket header says none are left, at the end of the stream, and when asked to", async () => {
  const empty = zendesk(1000, { 2: { rateLimit: { remaining: 0, resetsSeconds: 30 } } });
  expect(await fetchPagesWith(deps(empty.client, memoryDestination()), input(5), context(1))).toMatchObject({ pages: 2, stop: 'budget' });

  const end = zendesk(1000, { 1: { endOfStream: true } });
  expect(await fetchPagesWith(deps(end.client, memoryDestination()), input(5), context(1))).toMatchObject({ pages: 1, stop: 'end-of-stream' });

  let pages = 0;
  const cancelling = zendesk(1000);
  const destination = memoryDestination();
  destination.writePage = async () => void pages++;
  const result = await fetchPagesWith(deps(cancelling.client, destination), input(5), context(1, undefined, () => pages >= 2));
  expect(result).toMatchObject({ pages: 2, stop: 'cancelled' });
});

test('an input that is not one is refused before anything is asked', async () => {
  const { client, asked } = zendesk(1000);
  const bad = { ...input(5), target: { ...input(5).target, account: 'evil.com#' } };
  const err = await fetchPagesWith(deps(client, memoryDestination()), bad, context(1)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'InvalidExportInput', nonRetryable: true, message: expect.stringMatching(/target\.account "evil\.com#"/) });
  expect(asked).toEqual([]);
});
