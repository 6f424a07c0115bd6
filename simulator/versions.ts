/**
 * The order in which an export serves one resource: (version second, id). Only this order is stored,
 * as one sorted Float64Array of keys (8 bytes a record); records are generated when served. Versions
 * written at run time (a live account) live in a small sorted overlay merged in while iterating.
 */

/** A position in a resource's (version second, id) order. */
export interface Entry {
  second: number;
  id: number;
}

/** Keys are offset * ID_SPACE + id: exact in a double for spans up to 2^28 s and ids below 2^24. */
const ID_SPACE = 2 ** 24;
export const MAX_SPAN_SECONDS = 2 ** 28;
export const MAX_RECORDS = ID_SPACE - 1;

const before = (a: Entry, b: Entry) => a.second < b.second || (a.second === b.second && a.id < b.id);

/** One resource's versions: the sorted generated base plus the overlay of run-time changes. */
export class Versions {
  readonly keys: Float64Array;
  /** Current version second of ids changed or added at run time. */
  readonly moved = new Map<number, number>();
  readonly revisions = new Map<number, number>();
  /** Creation second of records added at run time. */
  readonly born = new Map<number, number>();
  /** The overlay, sorted by (second, id); one entry per changed id. */
  readonly overlay: Entry[] = [];
  nextId: number;

  constructor(
    readonly size: number,
    private readonly baseSecondOf: (id: number) => number,
    private readonly origin: number,
  ) {
    this.keys = new Float64Array(size);
    for (let id = 1; id <= size; id++) this.keys[id - 1] = (baseSecondOf(id) - origin) * ID_SPACE + id;
    this.keys.sort(); // Typed-array sort is numeric.
    this.nextId = size + 1;
  }

  /** The version generated from the seed, before any run-time change. */
  generatedSecond(id: number): number | undefined {
    return id >= 1 && id <= this.size ? this.baseSecondOf(id) : undefined;
  }

  secondOf(id: number): number | undefined {
    return this.moved.get(id) ?? this.generatedSecond(id);
  }

  revisionOf(id: number): number {
    return this.revisions.get(id) ?? 0;
  }

  /** Current versions in order: at or after `second` (inclusive), or strictly after (second, afterId). */
  *from(second: number, afterId?: number): Generator<Entry> {
    const target = (second - this.origin) * ID_SPACE + (afterId ?? 0);
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid]!;
      if (afterId === undefined ? k < target : k <= target) lo = mid + 1;
      else hi = mid;
    }
    const start: Entry = { second, id: afterId ?? 0 };
    let j = 0;
    while (j < this.overlay.length && (afterId === undefined ? before(this.overlay[j]!, start) : !before(start, this.overlay[j]!))) j++;
    let i = lo;
    while (i < this.keys.length || j < this.overlay.length) {
      let base: Entry | undefined;
      if (i < this.keys.length) {
        const k = this.keys[i]!;
        base = { second: this.origin + Math.floor(k / ID_SPACE), id: k % ID_SPACE };
      }
      const extra = this.overlay[j];
      if (base && (!extra || before(base, extra))) {
        i++;
        if (!this.moved.has(base.id)) yield base; // A changed record lives on in the overlay only.
      } else if (extra) {
        j++;
        yield extra;
      }
    }
  }

  /** A new version of `id` stamped `second`; a second change in the same second keeps one entry. */
  touch(id: number, second: number): void {
    const old = this.moved.get(id);
    if (old !== undefined) {
      const at = this.overlay.findIndex((e) => e.id === id && e.second === old);
      if (at >= 0) this.overlay.splice(at, 1);
    }
    const entry = { second, id };
    let at = this.overlay.length;
    while (at > 0 && before(entry, this.overlay[at - 1]!)) at--;
    this.overlay.splice(at, 0, entry);
    this.moved.set(id, second);
    this.revisions.set(id, (this.revisions.get(id) ?? 0) + 1);
  }
}
