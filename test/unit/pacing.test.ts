import fc from 'fast-check';
import {
  acceptShare,
  divideBudget,
  emptyBucketHold,
  holdUntil,
  recordSends,
  requestsAllowed,
  laterSlots,
  startPace,
  tightenBudget,
  tightenPace,
  waitBeforeNextRequest,
  WINDOW_MARGIN_MS,
} from '../../workflows/pacing';

describe('rate budget', () => {
  const budget = { requests: 10, seconds: 60 };

  it('lets a full share through at once, then waits for the oldest to leave the window', () => {
    let pace = startPace(budget, 3);
    expect(requestsAllowed(pace, 0)).toBe(3);
    expect(waitBeforeNextRequest(pace, 0)).toBe(0);
    pace = recordSends(pace, [0, 100, 200]);
    expect(requestsAllowed(pace, 300)).toBe(0);
    expect(waitBeforeNextRequest(pace, 300)).toBe(60_000 + WINDOW_MARGIN_MS - 300);
    expect(requestsAllowed(pace, 60_000 + WINDOW_MARGIN_MS + 1)).toBe(1);
  });

  it('schedules the slots that free after the requests allowed now: one as each send in the window leaves it, within the horizon', () => {
    const pace = recordSends(startPace(budget, 4), [0, 100, 250]);
    const at = 60_000 + WINDOW_MARGIN_MS;
    // Two free now (one never used, the send at 0 just left); those at 100 and 250 free their slots 100 and 250 ms later.
    expect(requestsAllowed(pace, at)).toBe(2);
    expect(laterSlots(pace, at, 9_000)).toEqual([100, 250]);
    expect(laterSlots(pace, at, 150)).toEqual([100]);
    expect(laterSlots(pace, 1_000, 9_000)).toEqual([]); // The window's sends free long after the horizon.
    expect(laterSlots(holdUntil(pace, at + 5), at, 9_000)).toEqual([]);
    expect(laterSlots(startPace(budget, 0), at, 9_000)).toEqual([]);
  });

  it('never changes a pace in place', () => {
    const pace = startPace(budget, 3);
    recordSends(pace, [1, 2]);
    holdUntil(pace, 5_000);
    acceptShare(pace, 1, budget, [7]);
    expect(pace).toEqual({ sent: [], notBefore: 0, share: 3, budget });
  });

  it('keeps only the sends the window can still need', () => {
    const pace = recordSends(startPace(budget, 3), [5, 1, 4, 2, 3]);
    expect(pace.sent).toEqual([3, 4, 5]);
  });

  it('honours a not-before time from Retry-After or an empty bucket, and never shortens it', () => {
    const held = holdUntil(startPace(budget, 10), 5_000);
    expect(waitBeforeNextRequest(held, 1_000)).toBe(4_000);
    expect(requestsAllowed(held, 1_000)).toBe(0);
    expect(holdUntil(held, 2_000)).toBe(held);
  });

  it('counts several sends at once: a page and its failed attempts', () => {
    const pace = recordSends(startPace(budget, 3), [1_000, 1_000, 1_000]);
    expect(pace.sent).toEqual([1_000, 1_000, 1_000]);
    expect(waitBeforeNextRequest(pace, 1_500)).toBe(60_000 + WINDOW_MARGIN_MS - 500);
  });

  it('waits for ever while queued with no share', () => {
    const queued = startPace(budget, 0);
    expect(waitBeforeNextRequest(queued, 0)).toBe(Infinity);
    expect(requestsAllowed(queued, 0)).toBe(0);
  });

  it('takes a new share with sends others made that still count against it', () => {
    const pace = acceptShare(recordSends(startPace(budget, 5), [10, 20]), 2, budget, [30, 40]);
    expect(pace.share).toBe(2);
    expect(pace.sent).toEqual([30, 40]);
    expect(waitBeforeNextRequest(pace, 50)).toBe(30 + 60_000 + WINDOW_MARGIN_MS - 50);
  });

  it("holds for Zendesk's reset only when someone else emptied the bucket", () => {
    // Own ten sends, the first 59.5 s ago: own pacing frees a slot within the reset's last second.
    const own = recordSends(startPace(budget, 10), Array.from({ length: 10 }, (_, i) => i * 100));
    expect(emptyBucketHold(own, 59_500, 1)).toBeUndefined();
    // One own send only, but Zendesk reports the bucket empty for 40 s more: someone else spent it.
    const other = recordSends(startPace(budget, 10), [59_500]);
    expect(emptyBucketHold(other, 59_500, 40)).toBe(99_500);
  });

  it('divides a budget into integer shares that add up to it, in join order', () => {
    expect(divideBudget(10, ['c', 'a', 'b'])).toEqual({ c: 4, a: 3, b: 3 });
    expect(divideBudget(10, ['x'])).toEqual({ x: 10 });
    expect(divideBudget(60, ['a', 'b', 'c', 'd'])).toEqual({ a: 15, b: 15, c: 15, d: 15 });
    // Fewer requests than members: the first to join get one each, the others wait.
    expect(divideBudget(2, ['a', 'b', 'c'])).toEqual({ a: 1, b: 1, c: 0 });
    expect(divideBudget(10, [])).toEqual({});
  });

  it('tightens to a lower total reported by Zendesk, never loosens', () => {
    expect(tightenBudget(budget, 5)).toEqual({ requests: 5, seconds: 60 });
    expect(tightenBudget(budget, 30)).toBe(budget);
    expect(tightenBudget(budget, 0)).toBe(budget);
    expect(tightenBudget(budget, undefined)).toBe(budget);
  });

  it('scales the share down with a tightened budget, keeping at least one', () => {
    const pace = recordSends(startPace(budget, 4), [1, 2, 3, 4]);
    const tightened = tightenPace(pace, 5);
    expect(tightened).toMatchObject({ share: 2, budget: { requests: 5, seconds: 60 }, sent: [3, 4] });
    expect(tightenPace(startPace(budget, 1), 2).share).toBe(1);
    expect(tightenPace(startPace(budget, 0), 2).share).toBe(0);
    expect(tightenPace(pace, 20)).toBe(pace);
  });

  it('never lets more than the budget into any window, however shares and sends interleave (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 200 }),
        (requests, members, delays) => {
          const windowMs = 10_000;
          const shares = Object.values(divideBudget(requests, Array.from({ length: members }, (_, i) => `m${i}`)));
          expect(shares.reduce((a, b) => a + b, 0)).toBe(requests);
          let paces = shares.map((share) => startPace({ requests, seconds: windowMs / 1000 }, share));
          const all: number[] = [];
          let now = 0;
          delays.forEach((delay, i) => {
            const m = i % paces.length;
            now += delay % 3_000;
            const wait = waitBeforeNextRequest(paces[m]!, now);
            if (!Number.isFinite(wait)) return; // Queued: it never sends.
            paces = paces.map((p, j) => (j === m ? recordSends(p, [now + wait]) : p));
            all.push(now + wait);
          });
          all.sort((a, b) => a - b);
          for (const from of all) expect(all.filter((x) => x >= from && x < from + windowMs).length).toBeLessThanOrEqual(requests);
        },
      ),
    );
  });

  it('never lets more than the share into any window when batches carry out their schedules, sends late or not (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 300 })), { minLength: 1, maxLength: 100 }),
        (share, runs) => {
          const windowMs = 10_000;
          let pace = startPace({ requests: share, seconds: windowMs / 1000 }, share);
          const all: number[] = [];
          let now = 0;
          for (const [gap, late] of runs) {
            now += gap;
            now += waitBeforeNextRequest(pace, now);
            // A run starts later than scheduled and sends each request at or after its slot.
            const schedule = [...Array<number>(requestsAllowed(pace, now)).fill(0), ...laterSlots(pace, now, 9_000)];
            const sends = schedule.map((ms, i) => now + late + ms + i);
            pace = recordSends(pace, sends);
            all.push(...sends);
            now = Math.max(now, ...sends);
          }
          all.sort((a, b) => a - b);
          for (const from of all) expect(all.filter((x) => x >= from && x < from + windowMs).length).toBeLessThanOrEqual(share);
        },
      ),
    );
  });
});
