/**
 * The counts of an export's pages, one type for the page activity, the workflow and the client. Pure.
 *
 * 0.2.1 named two of them differently (`written` in the activity's result, heartbeat and checkpoint;
 * `repeatsDropped` in the workflow's state): `countsOf` reads those too, for as long as results,
 * heartbeats, checkpoints and states of 0.2.1 may still arrive.
 */
export interface PageCounts {
  pages: number;
  /** Records written, after dropping boundary repeats. */
  records: number;
  /** Records dropped as repeats of the previous page's boundary. */
  repeats: number;
  /** Sideloaded records written beside them. */
  sideloaded: number;
}

export const NO_COUNTS: PageCounts = { pages: 0, records: 0, repeats: 0, sideloaded: 0 };

/** The counts of a value with current or 0.2.1 names; each is whatever the value holds (the caller checks them). */
export function countsOf(value: object): PageCounts {
  const v = value as Record<string, unknown>;
  const pick = (name: string, legacy: string) => (v[name] ?? v[legacy]) as number;
  return { pages: v.pages as number, records: pick('records', 'written'), repeats: pick('repeats', 'repeatsDropped'), sideloaded: v.sideloaded as number };
}

/** `value` with its counts under their current names, and no 0.2.1 names left. */
export function withCounts<T extends object>(value: T): T {
  const { written: _w, repeatsDropped: _r, ...rest } = value as Record<string, unknown>;
  return { ...rest, ...countsOf(value) } as T;
}

export function addCounts(a: PageCounts, b: PageCounts): PageCounts {
  return { pages: a.pages + b.pages, records: a.records + b.records, repeats: a.repeats + b.repeats, sideloaded: a.sideloaded + b.sideloaded };
}

export function isCounts(value: object): boolean {
  return Object.values(countsOf(value)).every((n) => Number.isSafeInteger(n) && n >= 0);
}
