/**
 * Time-based pages may overlap: `start_time` is inclusive, and when Zendesk answers an `end_time` equal
 * to the page's last second, the records stamped with it come again. The boundary remembers which
 * record versions of that second were already written, so each version is written exactly once
 * whatever the page boundaries. Pure.
 */
import { versionKey, versionSecond, type PageRecord } from './page';

/** The versions (`id@second`) already written at one second. JSON-safe: carried in workflow state. */
export interface Boundary {
  second: number;
  keys: string[];
}

export const EMPTY_BOUNDARY: Boundary = { second: -1, keys: [] };

/**
 * Splits a page into the records to write and the repeats to drop, and gives the boundary for the
 * next request, which starts at `nextSecond`.
 */
export function dropBoundaryRepeats(
  records: readonly PageRecord[],
  versionField: string,
  previous: Boundary,
  nextSecond: number,
): { fresh: PageRecord[]; repeats: number; boundary: Boundary } {
  const seen = new Set(previous.second >= 0 ? previous.keys : []);
  const fresh: PageRecord[] = [];
  for (const record of records) {
    if (versionSecond(record.value, versionField) === previous.second && seen.has(versionKey(record.value, versionField))) continue;
    fresh.push(record);
  }
  const keys = new Set(nextSecond === previous.second ? previous.keys : []);
  for (const record of records) {
    if (versionSecond(record.value, versionField) === nextSecond) keys.add(versionKey(record.value, versionField));
  }
  const boundary = keys.size || nextSecond === previous.second ? { second: nextSecond, keys: [...keys] } : EMPTY_BOUNDARY;
  return { fresh, repeats: records.length - fresh.length, boundary };
}
