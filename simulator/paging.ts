/**
 * One page of an export endpoint, as Zendesk serves it.
 *
 * Time-based pages hold the first `per_page` records at or after `start_time` (inclusive), grown to
 * the end of the last record's second. `end_time` is that second plus one (every recorded page chain),
 * so consecutive pages do not repeat records; or, as on zenpy#451's real final page, that second
 * itself, so the next call returns its records again. A page cut at `per_page` inside a shared second
 * (`growPages: false`) answers the last record's second: a naive client asks for the same page forever.
 *
 * Cursor pages never grow and never repeat: the cursor is a (second, id) position. `before_cursor`
 * and `before_url` are null on every page; the last page keeps its `after_cursor` to resume from.
 *
 * Records newer than the recent window (the one-minute rule) are not served yet, and a `start_time`
 * inside it is a 422.
 */
import type { EndpointSpec, Resource } from '../zendesk/endpoints';
import { tooRecent, type TooRecentAnswer } from './errors';
import { encodeCursor, readPageParams, withParam, type Filter } from './page-request';
import type { AccountData, RecordShape } from './records';
import type { Entry } from './versions';

/** What `end_time` a time-based page answers: its last second plus one (recorded), or that second (zenpy#451). */
export type TimeBoundary = 'next-second' | 'same-second';
export const TIME_BOUNDARIES: readonly TimeBoundary[] = ['next-second', 'same-second'];

/** What a first cursor call that finds nothing answers: no cursor (reported), or one at its start_time. */
export type EmptyFirstCursor = 'null' | 'start';
export const EMPTY_FIRST_CURSORS: readonly EmptyFirstCursor[] = ['null', 'start'];

export interface PagingRules {
  growPages: boolean;
  timeBoundary: TimeBoundary;
  emptyFirstCursor: EmptyFirstCursor;
  /** start_time must be older than this, and newer versions wait. */
  recentWindowSeconds: number;
  tooRecentAnswer: TooRecentAnswer;
}

export interface TimePage {
  page: Entry[];
  endTime: number;
  endOfStream: boolean;
}

/** A time-based page from the records at or after `startTime`, in (second, id) order. */
export function timePage(entries: Iterable<Entry>, startTime: number, perPage: number, rules: Pick<PagingRules, 'growPages' | 'timeBoundary'>): TimePage {
  const page: Entry[] = [];
  let next: Entry | undefined;
  for (const entry of entries) {
    const last = page[page.length - 1];
    if (last && page.length >= perPage && !(rules.growPages && entry.second === last.second)) {
      next = entry;
      break;
    }
    page.push(entry);
  }
  const last = page[page.length - 1];
  // An empty page keeps its start (what Zendesk answers here is not on record).
  if (!last) return { page, endTime: startTime, endOfStream: true };
  // Cut inside a second, the page cannot move past it: records of that second are still to come.
  const cutInsideSecond = next !== undefined && next.second === last.second;
  const endTime = rules.timeBoundary === 'next-second' && !cutInsideSecond ? last.second + 1 : last.second;
  return { page, endTime, endOfStream: next === undefined };
}

/** A cursor page: the `perPage` records after the position. */
export function cursorPage(entries: Iterable<Entry>, perPage: number): { page: Entry[]; endOfStream: boolean } {
  const page: Entry[] = [];
  for (const entry of entries) {
    if (page.length >= perPage) return { page, endOfStream: false };
    page.push(entry);
  }
  return { page, endOfStream: true };
}

/** The request, as the client sent it. */
export interface PageRequest {
  endpoint: EndpointSpec;
  resource: Resource;
  /** Origin and path, e.g. `http://127.0.0.1:8080/api/v2/incremental/tickets.json`. */
  base: string;
  /** The query text without `?`. */
  query: string;
}

function* visible(data: AccountData, resource: Resource, entries: Iterable<Entry>, filter: Filter, horizon: number): Generator<Entry> {
  for (const entry of entries) {
    if (entry.second >= horizon) return; // Not served until older than the recent window.
    if (data.visible(resource, entry.id, filter.scope, filter.excludeDeleted)) yield entry;
  }
}

/** The body of one page, records as shapes (json-text.ts writes them). `now` in epoch seconds. */
export function servePage(data: AccountData, request: PageRequest, rules: PagingRules, now: number): Record<string, unknown> {
  const { endpoint, resource } = request;
  const params = readPageParams(endpoint, new URLSearchParams(request.query));
  const horizon = now - rules.recentWindowSeconds;
  const { start } = params;
  if ('startTime' in start && start.startTime > horizon) throw tooRecent(rules.tooRecentAnswer);
  const commentEvents = params.include.includes('comment_events');
  const shapes = (page: Entry[]) => page.map((e) => data.shape(resource, e.id, { commentEvents })!);
  let body: Record<string, unknown>;
  let records: RecordShape[];

  if (endpoint.paging === 'cursor') {
    const entries = 'cursor' in start ? data.entries(resource, start.after.second, start.after.id) : data.entries(resource, start.startTime);
    const { page, endOfStream } = cursorPage(visible(data, resource, entries, params.filter, horizon), params.perPage);
    records = shapes(page);
    const last = page[page.length - 1];
    // An empty page keeps the cursor it was given; an empty first page has none to give, unless told otherwise.
    const after = last
      ? encodeCursor(last)
      : 'cursor' in start
        ? start.cursor
        : rules.emptyFirstCursor === 'start'
          ? encodeCursor({ second: start.startTime, id: 0 })
          : null;
    const afterUrl = after === null ? null : `${request.base}?${withParam(request.query, 'cursor', after, ['start_time'])}`;
    body = { [resource]: records, after_cursor: after, after_url: afterUrl, before_cursor: null, before_url: null, end_of_stream: endOfStream };
  } else {
    const startTime = 'startTime' in start ? start.startTime : 0;
    const entries = visible(data, resource, data.entries(resource, startTime), params.filter, horizon);
    const { page, endTime, endOfStream } = timePage(entries, startTime, params.perPage, rules);
    records = shapes(page);
    const nextPage = `${request.base}?${withParam(request.query, 'start_time', String(endTime))}`;
    body = { [resource]: records, count: records.length, end_time: endTime, next_page: nextPage, end_of_stream: endOfStream };
  }

  for (const name of params.include) {
    if (endpoint.sideloads[name as keyof typeof endpoint.sideloads] !== 'array') continue;
    body[name] = data.relatedIds(name, records).flatMap((id) => data.sideload(name, id) ?? []);
  }
  return body;
}
