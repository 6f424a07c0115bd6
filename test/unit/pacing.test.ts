import fc from 'fast-check';
import { divideBudget, emptyBucketHold, recordSend, scaleShare, tightenBudget, waitBeforeNextRequest, WINDOW_MARGIN_MS } from '../../workflows/pacing';

describe('rate budget', () => {
  const budget = { requests: 10, seconds: 60 };

  it('lets a full share through at once, then waits for the oldest to leave the window', () => {
    const state = { sent: [] as number[], notBefore: 0, share: 3, budget };
    expect(waitBeforeNextRequest(state, 0)).toBe(0);
    state.sent = recordSend(state, 0);
    state.sent = recordSend(state, 100);
    state.sent = recordSend(state, 200);
    expect(waitBeforeNextRequest(state, 300)).toBe(60_000 + WINDOW_MARGIN_MS - 300);
    expect(state.sent).toHaveLength(3);
  });

  it('honours a not-before time from Retry-After or an empty bucket', () => {
    expect(waitBeforeNextRequest({ sent: [], notBefore: 5_000, share: 10, budget }, 1_000)).toBe(4_000);
  });

  it('counts several sends at once: a page and its failed attempts', () => {
    const state = { sent: [] as number[], notBefore: 0, share: 3, budget };
    state.sent = recordSend(state, 1_000, 3);
    expect(state.sent).toEqual([1_000, 1_000, 1_000]);
    expect(waitBeforeNextRequest(state, 1_500)).toBe(60_000 + WINDOW_MARGIN_MS - 500);
  });

  it("holds for Zendesk's reset only when someone else emptied the bucket", () => {
    // Own ten sends, the first 59.5 s ago: own pacing frees a slot within the reset's last second.
    const own = { sent: Array.from({ length: 10 }, (_, i) => i * 100), notBefore: 0, share: 10, budget };
    expect(emptyBucketHold(own, 59_500, 1)).toBeUndefined();
    // One own send only, but Zendesk reports the bucket empty for 40 s more: someone else spent it.
    const other = { sent: [59_500], notBefore: 0, share: 10, budget };
    expect(emptyBucketHold(other, 59_500, 40)).toBe(99_500);
  });

  it('divides a budget into integer shares that add up to it', () => {
    expect(divideBudget(10, ['c', 'a', 'b'])).toEqual({ a: 4, b: 3, c: 3 });
    expect(divideBudget(10, ['x'])).toEqual({ x: 10 });
    expect(divideBudget(60, ['a', 'b', 'c', 'd'])).toEqual({ a: 15, b: 15, c: 15, d: 15 });
  });

  it('tightens to a lower total reported by Zendesk, never loosens', () => {
    expect(tightenBudget(budget, 5)).toEqual({ requests: 5, seconds: 60 });
    expect(tightenBudget(budget, 30)).toBe(budget);
    expect(tightenBudget(budget, undefined)).toBe(budget);
    expect(scaleShare(4, budget, { requests: 5, seconds: 60 })).toBe(2);
  });

  it('never lets more than the budget into any window, however shares and sends interleave (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 200 }),
        (requests, members, delays) => {
          const windowMs = 10_000;
          const shares = Object.values(divideBudget(requests, Array.from({ length: members }, (_, i) => `m${i}`)));
          if (shares.reduce((a, b) => a + b, 0) !== requests && requests >= members) return false;
          const states = shares.map((share) => ({ sent: [] as number[], notBefore: 0, share, budget: { requests, seconds: windowMs / 1000 } }));
          const all: number[] = [];
          let now = 0;
          delays.forEach((delay, i) => {
            const s = states[i % states.length]!;
            now += delay % 3_000;
            const at = now + waitBeforeNextRequest(s, now);
            s.sent = recordSend(s, at);
            all.push(at);
          });
          all.sort((a, b) => a - b);
          const limit = Math.max(requests, members); // Every member gets at least one.
          for (let i = 0; i < all.length; i++) {
            const inWindow = all.filter((x) => x >= all[i]! && x < all[i]! + windowMs).length;
            if (inWindow > limit) return false;
          }
          return true;
        },
      ),
    );
  });
});
