/**
 * An account's rate budget, divided between its exports: the rules of the account coordinator as a
 * plain class over JSON-safe state. Each change returns the share changes to send, in the order they
 * must go out: shrinking shares before any grows, so no moment has the old and the new shares both in
 * force, and requests given up within the last window handed on as sends the receiver must let age
 * out, so the account never exceeds its budget in any window. Pure.
 */
import { defaultBudget, RATE_BUCKET_NAMES, type RateBucket, type RateBudget, type RateCeilings } from '../zendesk/endpoints';
import { BATCH_SENDING_MS } from '../contract/limits';
import { underCeiling } from './ceiling';
import { divideBudget, tightenBudget } from './pacing';

export interface AccountMember {
  bucket: RateBucket;
  share: number;
  /** Join order: with fewer requests than exports, the first to come get a share first. */
  joined: number;
}

/** JSON-safe: carried across continue-as-new. */
export interface AccountBudgetState {
  /** Budgets per bucket, as set by the first export, by `budget`, or tightened by Zendesk's headers. */
  budgets: Partial<Record<RateBucket, RateBudget>>;
  /** Running exports by workflow ID. */
  members: Record<string, AccountMember>;
  /** Send times (epoch ms) given up within the last window, per bucket: they still count against the account. */
  released: Partial<Record<RateBucket, number[]>>;
  joins: number;
}

/** A share to signal to an export: its new share and budget, and sends to count against it. */
export interface ShareChange {
  workflowId: string;
  share: number;
  budget: RateBudget;
  sends: number[];
}

export function emptyAccountBudget(): AccountBudgetState {
  return { budgets: {}, members: {}, released: {}, joins: 0 };
}

export class AccountBudget {
  /** The operator's ceilings, once the worker has told them (undefined in runs begun before them). */
  private ceilings?: RateCeilings;

  constructor(readonly state: AccountBudgetState = emptyAccountBudget()) {}

  budgetOf(bucket: RateBucket): RateBudget {
    return underCeiling(this.state.budgets[bucket] ?? defaultBudget(bucket), this.ceilings?.[bucket]);
  }

  /**
   * The operator's ceilings (from the worker): every budget keeps within them from now on, whoever set
   * it (a coordinator started first with its own budget included). Returns the changes for the buckets
   * they lowered.
   */
  limitTo(ceilings: RateCeilings, now: number): ShareChange[] {
    this.ceilings = ceilings;
    const lowered = RATE_BUCKET_NAMES.filter((b) => this.state.budgets[b] && this.budgetOf(b) !== this.state.budgets[b]);
    for (const b of lowered) this.state.budgets[b] = this.budgetOf(b);
    return lowered.flatMap((b) => this.rebalance(b, now, { everyone: true }));
  }

  has(workflowId: string): boolean {
    return Object.hasOwn(this.state.members, workflowId);
  }

  get size(): number {
    return Object.keys(this.state.members).length;
  }

  /**
   * A new export of `bucket`. The first budget given for a bucket stands until someone sets another.
   * Returns the changes for the others and, last, the newcomer's own share (it starts with it).
   */
  join(workflowId: string, bucket: RateBucket, budget: RateBudget, now: number): ShareChange[] {
    return this.joinAll([{ workflowId, bucket, budget }], now);
  }

  /**
   * Several exports at once (the resources of one `start all`): they join before any share is given,
   * so none starts with a share it must give up a moment later. Newcomers' changes come last.
   */
  joinAll(newcomers: readonly { workflowId: string; bucket: RateBucket; budget: RateBudget }[], now: number): ShareChange[] {
    for (const n of newcomers) {
      this.state.budgets[n.bucket] ??= underCeiling(n.budget, this.ceilings?.[n.bucket]);
      this.state.members[n.workflowId] = { bucket: n.bucket, share: 0, joined: this.state.joins++ };
    }
    const ids = new Set(newcomers.map((n) => n.workflowId));
    const changes = [...new Set(newcomers.map((n) => n.bucket))].flatMap((bucket) => this.rebalance(bucket, now, { newcomers: ids }));
    return [...changes.filter((c) => !ids.has(c.workflowId)), ...changes.filter((c) => ids.has(c.workflowId))];
  }

  /** An export ended; `sends` are its requests of the last window, which still count against the account. */
  leave(workflowId: string, sends: readonly number[], now: number): ShareChange[] {
    const member = this.state.members[workflowId];
    if (!member) return [];
    delete this.state.members[workflowId];
    // No request was sent later than now (a batch in flight sends until BATCH_SENDING_MS from now at most).
    const sent = sends.slice(-Math.max(1, member.share)).map((t) => Math.min(t, now + BATCH_SENDING_MS));
    this.release(member.bucket, sent, now);
    return this.rebalance(member.bucket, now);
  }

  /** Zendesk reported a lower total for the bucket than the budget: everyone paces to it. */
  tighten(bucket: RateBucket, total: number, now: number): ShareChange[] {
    const tightened = tightenBudget(this.budgetOf(bucket), total);
    if (tightened === this.budgetOf(bucket)) return [];
    this.state.budgets[bucket] = tightened;
    return this.rebalance(bucket, now, { everyone: true });
  }

  /** A new budget for the bucket (the `budget` command). */
  setBudget(bucket: RateBucket, budget: RateBudget, now: number): ShareChange[] {
    this.state.budgets[bucket] = underCeiling(budget, this.ceilings?.[bucket]);
    return this.rebalance(bucket, now, { everyone: true });
  }

  /** When the last request given up leaves its window: an idle coordinator stays until then. */
  quietAt(): number {
    let at = 0;
    for (const [bucket, times] of Object.entries(this.state.released) as [RateBucket, number[]][]) {
      if (times.length) at = Math.max(at, times[times.length - 1]! + this.budgetOf(bucket).seconds * 1000);
    }
    return at;
  }

  private release(bucket: RateBucket, times: readonly number[], now: number): void {
    const windowStart = now - this.budgetOf(bucket).seconds * 1000;
    const live = [...(this.state.released[bucket] ?? []), ...times].filter((t) => t > windowStart).sort((a, b) => a - b);
    if (live.length) this.state.released[bucket] = live;
    else delete this.state.released[bucket];
  }

  /** `count` released sends for a member that grows, oldest first (they age out soonest). */
  private take(bucket: RateBucket, count: number, now: number): number[] {
    this.release(bucket, [], now);
    const times = this.state.released[bucket] ?? [];
    const taken = times.splice(0, count);
    if (!times.length) delete this.state.released[bucket];
    return taken;
  }

  private rebalance(bucket: RateBucket, now: number, opts: { newcomers?: ReadonlySet<string>; everyone?: boolean } = {}): ShareChange[] {
    const budget = this.budgetOf(bucket);
    const ids = Object.keys(this.state.members)
      .filter((id) => this.state.members[id]!.bucket === bucket)
      .sort((a, b) => this.state.members[a]!.joined - this.state.members[b]!.joined);
    const shares = divideBudget(budget.requests, ids);
    const shrinks: ShareChange[] = [];
    const grows: { change: ShareChange; gained: number }[] = [];
    const same: ShareChange[] = [];
    for (const id of ids) {
      const member = this.state.members[id]!;
      const before = member.share;
      const after = shares[id]!;
      member.share = after;
      const change = { workflowId: id, share: after, budget, sends: [] as number[] };
      if (after < before) {
        // What it gives up may still be sent by its batch in flight, until BATCH_SENDING_MS from now, and
        // then sits in Zendesk's window: it counts against the account as if sent then.
        this.release(bucket, Array<number>(before - after).fill(now + BATCH_SENDING_MS), now);
        shrinks.push(change);
      } else if (after > before || opts.newcomers?.has(id)) {
        grows.push({ change, gained: after - before });
      } else if (opts.everyone) {
        same.push(change);
      }
    }
    for (const g of grows) g.change.sends = this.take(bucket, g.gained, now);
    // Newcomers go last: the others' changes are sent before they start.
    const growing = grows.map((g) => g.change);
    const isNew = (c: ShareChange) => opts.newcomers?.has(c.workflowId) === true;
    return [...shrinks, ...same, ...growing.filter((c) => !isNew(c)), ...growing.filter(isNew)];
  }
}