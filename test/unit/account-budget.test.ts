/** The account coordinator's rules: how an account's rate budget is divided between its exports. */
import fc from 'fast-check';
import { BATCH_SENDING_MS } from '../../contract/limits';
import { AccountBudget, type ShareChange } from '../../workflows/account-budget';
import { acceptShare, recordSends, requestsAllowed, startPace, type PaceState } from '../../workflows/pacing';

const BUDGET = { requests: 10, seconds: 60 };
const WINDOW_MS = BUDGET.seconds * 1000;
const shares = (changes: readonly ShareChange[]) => Object.fromEntries(changes.map((c) => [c.workflowId, c.share]));
const sharesOf = (budget: AccountBudget) => Object.fromEntries(Object.entries(budget.state.members).map(([id, m]) => [id, m.share]));

describe('dividing an account budget', () => {
  it('gives the first export the whole budget, and divides it as others join, in join order', () => {
    const budget = new AccountBudget();
    expect(budget.join('a', 'incremental-exports', BUDGET, 0)).toEqual([{ workflowId: 'a', share: 10, budget: BUDGET, sends: [] }]);
    budget.join('b', 'incremental-exports', BUDGET, 1);
    budget.join('c', 'incremental-exports', BUDGET, 2);
    expect(sharesOf(budget)).toEqual({ a: 4, b: 3, c: 3 });
  });

  it('keeps the shares of a bucket adding up to its budget, whoever comes and goes', () => {
    const budget = new AccountBudget();
    const sum = () => Object.values(sharesOf(budget)).reduce((a, b) => a + b, 0);
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) {
      budget.join(id, 'incremental-exports', BUDGET, i);
      expect(sum()).toBe(10);
    }
    budget.leave('b', [], 10);
    expect(sum()).toBe(10);
  });

  it('keeps buckets apart: the users cursor export has its own', () => {
    const budget = new AccountBudget();
    budget.join('tickets', 'incremental-exports', BUDGET, 0);
    expect(budget.join('users', 'incremental-exports-cursor', { requests: 20, seconds: 60 }, 1)).toEqual([
      { workflowId: 'users', share: 20, budget: { requests: 20, seconds: 60 }, sends: [] },
    ]);
    expect(sharesOf(budget)).toEqual({ tickets: 10, users: 20 });
  });

  it('keeps the first budget given for a bucket until someone sets another', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', { requests: 6, seconds: 60 }, 0);
    const changes = budget.join('b', 'incremental-exports', { requests: 30, seconds: 60 }, 1);
    expect(changes.every((c) => c.budget.requests === 6)).toBe(true);
    expect(budget.budgetOf('incremental-exports')).toEqual({ requests: 6, seconds: 60 });
  });

  it('tells the others first and the newcomer last, so it never starts before they shrank', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', BUDGET, 0);
    budget.join('b', 'incremental-exports', BUDGET, 1);
    const changes = budget.join('c', 'incremental-exports', BUDGET, 2);
    expect(changes.map((c) => c.workflowId)).toEqual(['a', 'b', 'c']);
    expect(shares(changes)).toEqual({ a: 4, b: 3, c: 3 });
  });

  it('sends shrinking shares before any that grow', () => {
    const budget = new AccountBudget();
    for (const [i, id] of ['a', 'b', 'c'].entries()) budget.join(id, 'incremental-exports', BUDGET, i); // 4, 3, 3
    const down = budget.setBudget('incremental-exports', { requests: 9, seconds: 60 }, 10); // 3, 3, 3: a shrinks
    expect(down.map((c) => [c.workflowId, c.share])).toEqual([['a', 3], ['b', 3], ['c', 3]]);
    const up = budget.setBudget('incremental-exports', { requests: 12, seconds: 60 }, 20); // 4, 4, 4: b and c grow
    expect(up.map((c) => [c.workflowId, c.share])).toEqual([['a', 4], ['b', 4], ['c', 4]]);
    const fresh = new AccountBudget();
    for (const [i, id] of ['a', 'b', 'c'].entries()) fresh.join(id, 'incremental-exports', BUDGET, i);
    // d joins: a and c shrink, b keeps 3 and is not told, d comes last.
    expect(fresh.join('d', 'incremental-exports', BUDGET, 30).map((c) => [c.workflowId, c.share])).toEqual([['a', 3], ['c', 2], ['d', 2]]);
  });

  it('hands what a shrinking export gives up to the newcomer as sends its batch in flight may still make', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', BUDGET, 0);
    const changes = budget.join('b', 'incremental-exports', BUDGET, 5_000);
    // a's run may go on sending its old share until BATCH_SENDING_MS from now: b waits those out.
    const late = 5_000 + BATCH_SENDING_MS;
    expect(changes).toEqual([
      { workflowId: 'a', share: 5, budget: BUDGET, sends: [] },
      { workflowId: 'b', share: 5, budget: BUDGET, sends: [late, late, late, late, late] },
    ]);
  });

  it('lets exports asked for together join together: nobody starts with a share it must give up', () => {
    const budget = new AccountBudget();
    budget.join('old', 'incremental-exports', BUDGET, 0);
    const changes = budget.joinAll(
      [
        { workflowId: 'tickets', bucket: 'incremental-exports', budget: BUDGET },
        { workflowId: 'users', bucket: 'incremental-exports-cursor', budget: { requests: 20, seconds: 60 } },
        { workflowId: 'organizations', bucket: 'incremental-exports', budget: BUDGET },
      ],
      1_000,
    );
    expect(changes.map((c) => [c.workflowId, c.share])).toEqual([
      ['old', 4],
      ['tickets', 3],
      ['organizations', 3],
      ['users', 20],
    ]);
    // One change per export: none is told a share and then a smaller one.
    expect(new Set(changes.map((c) => c.workflowId)).size).toBe(changes.length);
  });

  it("hands on a leaving export's real send times, not its whole share as if just spent", () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', { requests: 4, seconds: 60 }, 0);
    budget.join('b', 'incremental-exports', { requests: 4, seconds: 60 }, 0);
    // a held 2 and sent twice, 30 s and 10 s before it left; b grows by 2 and counts those two.
    const changes = budget.leave('a', [20_000, 40_000], 50_000);
    expect(changes).toEqual([{ workflowId: 'b', share: 4, budget: { requests: 4, seconds: 60 }, sends: [20_000, 40_000] }]);
  });

  it('hands on no more sends than the share that left, and none that aged out', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', { requests: 2, seconds: 60 }, 0);
    budget.join('b', 'incremental-exports', { requests: 2, seconds: 60 }, 0);
    expect(budget.leave('a', [1_000, 2_000, 3_000], 10_000)[0]!.sends).toEqual([3_000]); // a's share was 1.
    const old = new AccountBudget();
    old.join('a', 'incremental-exports', { requests: 2, seconds: 60 }, 0);
    old.join('b', 'incremental-exports', { requests: 2, seconds: 60 }, 0);
    expect(old.leave('a', [1_000], 1_000 + WINDOW_MS + 1)[0]!.sends).toEqual([]);
  });

  it('queues exports beyond the budget with share 0, and gives them a share as others leave', () => {
    const budget = new AccountBudget();
    const small = { requests: 2, seconds: 60 };
    budget.join('a', 'incremental-exports', small, 0);
    budget.join('b', 'incremental-exports', small, 0);
    expect(budget.join('c', 'incremental-exports', small, 0)).toEqual([{ workflowId: 'c', share: 0, budget: small, sends: [] }]);
    expect(sharesOf(budget)).toEqual({ a: 1, b: 1, c: 0 });
    expect(budget.leave('a', [7_000], 8_000)).toEqual([{ workflowId: 'c', share: 1, budget: small, sends: [7_000] }]);
  });

  it('tightens every share when Zendesk reports a lower total, and ignores a higher one', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', BUDGET, 0);
    budget.join('b', 'incremental-exports', BUDGET, 0);
    expect(budget.tighten('incremental-exports', 20, 1)).toEqual([]);
    const changes = budget.tighten('incremental-exports', 4, 1);
    expect(changes.map((c) => [c.workflowId, c.share, c.budget.requests])).toEqual([['a', 2, 4], ['b', 2, 4]]);
    expect(budget.tighten('incremental-exports', 4, 2)).toEqual([]);
  });

  it('ignores an export that is not a member', () => {
    expect(new AccountBudget().leave('nobody', [1], 2)).toEqual([]);
  });

  it('stays until the last request given up leaves its window', () => {
    const budget = new AccountBudget();
    expect(budget.quietAt()).toBe(0);
    budget.join('a', 'incremental-exports', BUDGET, 0);
    budget.join('s', 'sample', { requests: 10, seconds: 1200 }, 0);
    budget.leave('a', [10_000, 20_000], 30_000);
    expect(budget.quietAt()).toBe(20_000 + WINDOW_MS);
    budget.leave('s', [25_000], 30_000);
    expect(budget.quietAt()).toBe(25_000 + 1_200_000);
  });

  it('survives a round trip through JSON (continue-as-new carries its state)', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', BUDGET, 0);
    budget.join('b', 'incremental-exports', BUDGET, 0);
    budget.leave('a', [1_000], 2_000);
    const copy = new AccountBudget(JSON.parse(JSON.stringify(budget.state)));
    expect(copy.join('c', 'incremental-exports', BUDGET, 3_000)).toEqual(budget.join('c', 'incremental-exports', BUDGET, 3_000));
  });
});

describe('the account never exceeds its budget (property)', () => {
  type Event = { kind: 'join' } | { kind: 'leave'; pick: number } | { kind: 'wait'; ms: number };
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.constant<Event>({ kind: 'join' }),
    fc.nat(20).map<Event>((pick) => ({ kind: 'leave', pick })),
    fc.integer({ min: 1, max: 40_000 }).map<Event>((ms) => ({ kind: 'wait', ms })),
  );

  it('however exports come, go and spend their shares, batches in flight included, and however small the budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(event, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: BATCH_SENDING_MS }), { minLength: 1, maxLength: 10 }),
        (requests, events, offsets) => {
          const budget = { requests, seconds: 60 };
          const coordinator = new AccountBudget();
          /** Each export's pace, and its batch in flight: `n` requests sent at `at`, recorded once it ends. */
          const exports = new Map<string, { pace: PaceState; run?: { at: number; n: number } }>();
          const sent: number[] = [];
          let now = 0;
          let joined = 0;
          let batches = 0;
          // Changes reach the exports in the order the coordinator sends them, batches in flight or not.
          const deliver = (changes: readonly ShareChange[]) => {
            for (const c of changes) {
              const e = exports.get(c.workflowId);
              if (e) e.pace = acceptShare(e.pace, c.share, c.budget, c.sends);
              else exports.set(c.workflowId, { pace: startPace(c.budget, c.share, c.sends) });
            }
          };
          // A run ends once its requests are out, and its sends are recorded on the export's pace.
          const finishRuns = () => {
            for (const e of exports.values()) {
              if (e.run && e.run.at <= now) {
                e.pace = recordSends(e.pace, Array<number>(e.run.n).fill(e.run.at));
                e.run = undefined;
              }
            }
          };
          // Every idle export starts a batch of all it is allowed now, sending at some moment of the batch's sending time.
          const startRuns = () => {
            for (const e of exports.values()) {
              const n = e.run ? 0 : requestsAllowed(e.pace, now);
              if (n <= 0) continue;
              const at = now + offsets[batches++ % offsets.length]!;
              e.run = { at, n };
              sent.push(...Array<number>(n).fill(at));
            }
          };
          for (const e of events) {
            if (e.kind === 'wait') now += e.ms;
            finishRuns();
            if (e.kind === 'join') deliver(coordinator.join(`e${joined++}`, 'incremental-exports', budget, now));
            if (e.kind === 'leave') {
              // An export leaves once its last run has ended, with the sends its pace still counts.
              const idle = [...exports].filter(([, x]) => !x.run);
              if (idle.length) {
                const [id, x] = idle[e.pick % idle.length]!;
                exports.delete(id);
                deliver(coordinator.leave(id, x.pace.sent, now));
              }
            }
            startRuns();
            const total = [...exports.values()].reduce((n, x) => n + x.pace.share, 0);
            expect(total).toBeLessThanOrEqual(requests);
            if (exports.size >= requests) expect(total).toBe(requests);
          }
          for (const from of sent) expect(sent.filter((t) => t >= from && t < from + budget.seconds * 1000).length).toBeLessThanOrEqual(requests);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("the operator's ceiling", () => {
  const CEILINGS = { 'incremental-exports': { requests: 3, seconds: 2 }, 'incremental-exports-cursor': { requests: 20, seconds: 60 }, sample: { requests: 10, seconds: 1200 } };
  const HUGE = { requests: 1000, seconds: 1 };

  it("holds a first export's budget, a coordinator's carried budget and a new budget to it", () => {
    const budget = new AccountBudget();
    budget.limitTo(CEILINGS, 0);
    budget.join('a', 'incremental-exports', HUGE, 0);
    expect(budget.budgetOf('incremental-exports')).toEqual({ requests: 3, seconds: 2 });
    expect(sharesOf(budget)).toEqual({ a: 3 });
    budget.setBudget('incremental-exports', HUGE, 1);
    expect(budget.state.budgets['incremental-exports']).toEqual({ requests: 3, seconds: 2 });

    const carried = new AccountBudget({ budgets: { 'incremental-exports': HUGE }, members: { a: { bucket: 'incremental-exports', share: 1000, joined: 0 } }, released: {}, joins: 1 });
    expect(shares(carried.limitTo(CEILINGS, 2))).toEqual({ a: 3 });
    expect(carried.budgetOf('incremental-exports')).toEqual({ requests: 3, seconds: 2 });
  });

  it('keeps a budget within it as fewer requests over a longer window, never more', () => {
    const budget = new AccountBudget();
    budget.limitTo(CEILINGS, 0);
    budget.join('a', 'incremental-exports', { requests: 2, seconds: 1 }, 0);
    expect(budget.budgetOf('incremental-exports')).toEqual({ requests: 2, seconds: 2 });
  });

  it('does not believe send times later than a batch in flight could make them', () => {
    const budget = new AccountBudget();
    budget.join('a', 'incremental-exports', BUDGET, 0);
    budget.join('b', 'incremental-exports', BUDGET, 0);
    budget.leave('a', [100 * 365 * 86_400_000], 1000);
    expect(budget.quietAt()).toBeLessThanOrEqual(1000 + BATCH_SENDING_MS + WINDOW_MS);
  });
});
