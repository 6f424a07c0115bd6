/**
 * Time-based pages overlap: `start_time` is inclusive, so the records stamped with the previous page's
 * `end_time` come again. The boundary remembers which record versions of that second were already
 * written, so each version is written exactly once whatever the page boundaries. Pure.
 */
import { versionKey, versionSecond, type ZendeskRecord } from './page';

/** The versions (`id@second`) already written at one second. JSON-safe: carried in workflow state. */
export interface Boundary {
  second: number;
  keys: string[];
}

export const EMPTY_BOUNDARY: Boundary = { second: -1, keys: [] };

/**
 * Splits a page into the records to write and the repeats to drop, and gives the boundary for the
 * next page. `nextSecond` is the second the next request starts from (time-based: `end_time`);
 * for cursor pages it is the newest second on the page, which only matters after a switch from a
 * stuck time-based export.
 */
export function dropBoundaryRepeats(
  records: readonly ZendeskRecord[],
  versionField: string,
  previous: Boundary,
  nextSecond?: number,
): { fresh: ZendeskRecord[]; repeats: number; boundary: Boundary } {
  const seen = new Set(previous.second >= 0 ? previous.keys : []);
  const fresh: ZendeskRecord[] = [];
  let newest = -1;
  for (const record of records) {
    const second = versionSecond(record, versionField) ?? -1;
    newest = Math.max(newest, second);
    if (second === previous.second && seen.has(versionKey(record, versionField))) continue;
    fresh.push(record);
  }
  const boundarySecond = nextSecond ?? newest;
  if (records.length === 0 || boundarySecond < 0) return { fresh, repeats: 0, boundary: previous };
  const keys = new Set(boundarySecond === previous.second ? previous.keys : []);
  for (const record of records) {
    if (versionSecond(record, versionField) === boundarySecond) keys.add(versionKey(record, versionField));
  }
  return { fresh, repeats: records.length - fresh.length, boundary: { second: boundarySecond, keys: [...keys] } };
}
