/**
 * Paging, in one place: what a request asks for, where the export stands after a page, which records
 * of the page are repeats, and what to do when a time-based export cannot move past one second. Two
 * strategies, chosen by the endpoint table's `paging`: time (`start_time`/`end_time`) and cursor
 * (`cursor`/`after_cursor`). Pure: the page activity runs it after every page, and the workflow may
 * import the types.
 */
import { isCursor, MAX_CURSOR_LENGTH } from '../contract/limits';
import { dropBoundaryRepeats, EMPTY_BOUNDARY, type Boundary } from './boundary';
import { cursorEndpointFor, DEFAULT_SUPPORT_TYPE_SCOPE, endpointSpec, RESOURCE_SPECS, type EndpointId, type Resource } from './endpoints';
import { versionSecond, type Page, type PageOptions, type PageRecord, type Position } from './page';

/** Where an export stands: everything the next request and its de-duplication depend on. */
export interface ExportPosition {
  /** The endpoint the next request goes to (a stuck time-based export may switch to the cursor one). */
  endpoint: EndpointId;
  next: Position;
  /** Versions already written at `next.startTime` (time-based pages overlap there). */
  boundary: Boundary;
  /** The page size asked for; Zendesk's maximum for the endpoint when unset. */
  perPage?: number;
}

/** Zendesk's clock and ours may differ a little; an `end_time` further ahead than this is not believed. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export function startPosition(endpoint: EndpointId, next: Position, perPage?: number): ExportPosition {
  return { endpoint, next, boundary: EMPTY_BOUNDARY, perPage };
}

/** The page size a request asks for: what it sends, else what Zendesk answers without one. */
export function askedPerPage(at: ExportPosition): number {
  const endpoint = endpointSpec(at.endpoint);
  const sent = at.perPage !== undefined && (endpoint.params as readonly string[]).includes('per_page');
  return sent ? at.perPage! : endpoint.maxPerPage;
}

/** The query string of the next request, as the endpoint accepts it. */
export function requestParams(at: ExportPosition, options: PageOptions): Record<string, string> {
  const endpoint = endpointSpec(at.endpoint);
  const params: Record<string, string> = {};
  if (at.next.kind === 'cursor' && at.next.cursor) params.cursor = at.next.cursor;
  else params.start_time = String(at.next.startTime);
  const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
  if (at.perPage !== undefined && accepts('per_page')) params.per_page = String(at.perPage);
  if (options.include?.length && accepts('include')) params.include = options.include.join(',');
  if (options.excludeDeleted && accepts('exclude_deleted')) params.exclude_deleted = 'true';
  if (accepts('support_type_scope')) params.support_type_scope = options.supportTypeScope ?? DEFAULT_SUPPORT_TYPE_SCOPE;
  return params;
}

/** What a page means for the export. */
export type PageStep =
  /** Write `fresh`; the export stands at `at` now. `note` explains a change of endpoint or page size. */
  | { kind: 'moved'; at: ExportPosition; fresh: PageRecord[]; repeats: number; endOfStream: boolean; note?: string }
  /** Going on would skip records or loop: the export stops with this sentence. */
  | { kind: 'stuck'; message: string }
  /** Zendesk's answer cannot be true (a position from the future, a cursor that does not move). */
  | { kind: 'refused'; message: string };

/** The step a page takes the export, for the resource it exports, with `nowSeconds` as our clock. */
export function advance(at: ExportPosition, resource: Resource, page: Page, nowSeconds: number): PageStep {
  return endpointSpec(at.endpoint).paging === 'cursor' ? advanceCursor(at, resource, page) : advanceTime(at, resource, page, nowSeconds);
}

function advanceTime(at: ExportPosition, resource: Resource, page: Page, nowSeconds: number): PageStep {
  const { versionField } = RESOURCE_SPECS[resource];
  const start = at.next.startTime;
  if (page.endTime !== undefined && page.endTime > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    return {
      kind: 'refused',
      message: `Zendesk answered end_time ${page.endTime}, ${page.endTime - nowSeconds}s in the future; the export stopped at start_time ${start} rather than skip ahead.`,
    };
  }
  const newest = page.records.reduce((n, r) => Math.max(n, versionSecond(r.value, versionField) ?? -1), -1);
  // Never step back: an answer without end_time (or with an older one) leaves the position where it was.
  let next = Math.max(start, page.endTime ?? newest);
  let note: string | undefined;
  if (!page.endOfStream && next <= start) {
    const allAtStart = page.records.every((r) => versionSecond(r.value, versionField) === start);
    if (allAtStart && page.records.length > askedPerPage(at)) {
      // Zendesk grew the page past what was asked to hold the whole second: that second is complete.
      next = start + 1;
    } else if (newest > start) {
      // An end_time behind the page's own records: the records show how far it got (repeats are dropped).
      next = newest;
    } else {
      return escapeStuckSecond(at, resource, page);
    }
  }
  const { fresh, repeats, boundary } = dropBoundaryRepeats(page.records, versionField, at.boundary, next);
  return { kind: 'moved', at: { ...at, next: { kind: 'time', startTime: next }, boundary }, fresh, repeats, endOfStream: page.endOfStream, note };
}

function advanceCursor(at: ExportPosition, resource: Resource, page: Page): PageStep {
  const previous = at.next.kind === 'cursor' ? at.next.cursor : null;
  const cursor = page.afterCursor ?? null;
  if (cursor !== null && !isCursor(cursor)) {
    return { kind: 'refused', message: `Zendesk answered a cursor of ${String(cursor).length} characters, not printable ASCII within ${MAX_CURSOR_LENGTH}; the export stopped rather than carry it.` };
  }
  if (!page.endOfStream && (cursor === null || cursor === previous)) {
    return {
      kind: 'refused',
      message:
        `Zendesk's ${at.endpoint} page did not move the cursor on (after_cursor ${cursor === null ? 'missing' : 'unchanged'}) ` +
        `and is not the end of the stream; the export stopped rather than write the same records again.`,
    };
  }
  const { versionField } = RESOURCE_SPECS[resource];
  // After a switch from a stuck second, the first cursor pages repeat what the time pages wrote there.
  const newest = page.records.reduce((n, r) => Math.max(n, versionSecond(r.value, versionField) ?? -1), -1);
  const keep = at.boundary.second >= 0 && newest <= at.boundary.second ? at.boundary.second : -1;
  const { fresh, repeats, boundary } = dropBoundaryRepeats(page.records, versionField, at.boundary, keep);
  const next: Position = { kind: 'cursor', startTime: at.next.startTime, cursor: cursor ?? previous };
  return { kind: 'moved', at: { ...at, next, boundary }, fresh, repeats, endOfStream: page.endOfStream };
}

/**
 * More records share one second than a page holds, and Zendesk did not grow the page: the same
 * start_time would come back forever. Leave without losing a record: switch to the cursor endpoint
 * where one exists (it pages by (second, id)), else ask for bigger pages, else stop. The page is
 * written either way; the boundary already holds what was written at that second.
 */
export function escapeStuckSecond(at: ExportPosition, resource: Resource, page: Page): PageStep {
  const { versionField } = RESOURCE_SPECS[resource];
  const second = at.next.startTime;
  const { fresh, repeats, boundary } = dropBoundaryRepeats(page.records, versionField, at.boundary, second);
  const cursor = at.endpoint === 'sample' ? undefined : cursorEndpointFor(resource);
  if (cursor) {
    return {
      kind: 'moved',
      at: { endpoint: cursor.id, next: { kind: 'cursor', startTime: second, cursor: null }, boundary, perPage: at.perPage },
      fresh,
      repeats,
      endOfStream: false,
      note: `More ${resource} share second ${second} than one page holds; switched from ${at.endpoint} to ${cursor.id}, which pages within a second.`,
    };
  }
  const asked = askedPerPage(at);
  const max = endpointSpec(at.endpoint).maxPerPage;
  if (asked < max) {
    const perPage = Math.min(max, asked * 2);
    return {
      kind: 'moved',
      at: { ...at, boundary, perPage },
      fresh,
      repeats,
      endOfStream: false,
      note: `More ${resource} share second ${second} than ${asked} per page; asking for ${perPage} per page.`,
    };
  }
  return {
    kind: 'stuck',
    message:
      `More than ${asked} ${resource} share second ${second} and Zendesk's ${at.endpoint} endpoint neither grows the page nor pages within one second; ` +
      `the export stopped at start_time ${second} rather than skip records.`,
  };
}
