/** The paging rules: what a request asks for, and where each answer takes the export. */
import fc from 'fast-check';
import { MAX_CURSOR_LENGTH } from '../../contract/limits';
import { EMPTY_BOUNDARY } from '../../zendesk/boundary';
import { endpointSpec, type EndpointId, type Resource } from '../../zendesk/endpoints';
import type { Page, PageRecord, Position } from '../../zendesk/page';
import {
  advance,
  askedPerPage,
  escapeStuckSecond,
  MAX_CLOCK_SKEW_SECONDS,
  requestParams,
  startPosition,
  type ExportPosition,
  type PageStep,
} from '../../zendesk/paging';

const NOW = Math.floor(Date.now() / 1000);

const ticket = (id: number, second: number): PageRecord => {
  const value = { id, generated_timestamp: second };
  return { value, text: JSON.stringify(value) };
};
const organization = (id: number, second: number): PageRecord => {
  const value = { id, updated_at: new Date(second * 1000).toISOString() };
  return { value, text: JSON.stringify(value) };
};
const page = (records: PageRecord[], fields: Partial<Page> = {}): Page => ({ resource: 'tickets', records, sideloads: {}, endOfStream: false, rateLimit: {}, ...fields });
const timeAt = (endpoint: EndpointId, startTime: number, perPage?: number) => startPosition(endpoint, { kind: 'time', startTime }, perPage);
const cursorAt = (endpoint: EndpointId, cursor: string | null, startTime = 0) => startPosition(endpoint, { kind: 'cursor', startTime, cursor });
const ids = (records: readonly PageRecord[]) => records.map((r) => r.value.id);

function moved(step: PageStep): Extract<PageStep, { kind: 'moved' }> {
  if (step.kind !== 'moved') throw new Error(`expected a move, got ${step.kind}: ${step.message}`);
  return step;
}

describe('requests', () => {
  it('starts a time page at its start_time, asking for every support type', () => {
    expect(requestParams(timeAt('tickets_time', 100), {})).toEqual({ start_time: '100', support_type_scope: 'all' });
    expect(requestParams(timeAt('ticket_events', 100), { supportTypeScope: 'agent' })).toEqual({ start_time: '100', support_type_scope: 'agent' });
  });

  it('sends the cursor alone once Zendesk has handed one out, and the start_time until then', () => {
    expect(requestParams(cursorAt('users_cursor', 'abc', 5), {})).toEqual({ cursor: 'abc' });
    expect(requestParams(cursorAt('users_cursor', null, 5), {})).toEqual({ start_time: '5' });
  });

  it('sends only the params the endpoint takes', () => {
    const options = { include: ['users', 'groups'], excludeDeleted: true, supportTypeScope: 'all' as const };
    expect(requestParams(startPosition('tickets_cursor', { kind: 'cursor', startTime: 5, cursor: null }, 100), options)).toEqual({
      start_time: '5',
      per_page: '100',
      include: 'users,groups',
      exclude_deleted: 'true',
      support_type_scope: 'all',
    });
    // Organizations take neither exclude_deleted nor support_type_scope; the sample endpoint takes nothing.
    expect(requestParams(timeAt('organizations', 9), { excludeDeleted: true })).toEqual({ start_time: '9' });
    expect(requestParams(timeAt('sample', 9), options)).toEqual({ start_time: '9' });
  });

  it("asks the endpoint's maximum page size unless told otherwise", () => {
    expect(askedPerPage(timeAt('organizations', 0))).toBe(1000);
    expect(askedPerPage(timeAt('sample', 0))).toBe(50);
    expect(askedPerPage(timeAt('organizations', 0, 25))).toBe(25);
    // A page size the endpoint does not take is never sent, so Zendesk's maximum is what was asked.
    expect(askedPerPage(timeAt('sample', 0, 10))).toBe(50);
  });
});

describe('time pages', () => {
  it("moves to Zendesk's end_time and writes the whole page (end_time = last second + 1)", () => {
    const step = moved(advance(timeAt('tickets_time', 100), 'tickets', page([ticket(1, 100), ticket(2, 101), ticket(3, 102)], { endTime: 103 }), NOW));
    expect(step.at.next).toEqual({ kind: 'time', startTime: 103 });
    expect(ids(step.fresh)).toEqual([1, 2, 3]);
    expect(step).toMatchObject({ repeats: 0, endOfStream: false });
    expect(step.at.boundary).toEqual(EMPTY_BOUNDARY);
    expect(step.note).toBeUndefined();
  });

  it('drops the repeats of a page that ends on its last second (end_time = last second)', () => {
    const first = moved(advance(timeAt('tickets_time', 100), 'tickets', page([ticket(1, 100), ticket(2, 102), ticket(3, 102)], { endTime: 102 }), NOW));
    expect(first.at).toMatchObject({ next: { kind: 'time', startTime: 102 }, boundary: { second: 102, keys: ['2@102', '3@102'] } });
    const second = moved(advance(first.at, 'tickets', page([ticket(2, 102), ticket(3, 102), ticket(4, 102), ticket(5, 104)], { endTime: 104 }), NOW));
    expect(ids(second.fresh)).toEqual([4, 5]);
    expect(second.repeats).toBe(2);
  });

  it('a sample page of 50 at one second is not taken for a grown page just because a smaller size was never sent', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ticket(i + 1, 100));
    expect(advance(timeAt('sample', 100, 10), 'tickets', page(fifty, { endTime: 100 }), NOW).kind).toBe('stuck');
  });

  it('an end_time behind the records on the page moves to the newest record, and nothing is written twice', () => {
    // Two asked; Zendesk answers 100, 100, 105 and an end_time of 100: the records show it got to 105.
    const first = moved(advance(timeAt('tickets_time', 100, 2), 'tickets', page([ticket(1, 100), ticket(2, 100), ticket(3, 105)], { endTime: 100 }), NOW));
    expect(first.at.next).toEqual({ kind: 'time', startTime: 105 });
    const second = moved(advance(first.at, 'tickets', page([ticket(3, 105), ticket(4, 106)], { endTime: 107 }), NOW));
    expect(ids(second.fresh)).toEqual([4]);
  });

  it('never steps back, even when Zendesk answers an end_time below the position', () => {
    const last = moved(advance(timeAt('tickets_time', 1000), 'tickets', page([ticket(1, 1000), ticket(2, 1001)], { endTime: 500, endOfStream: true }), NOW));
    expect(last.at.next).toEqual({ kind: 'time', startTime: 1000 });
    const organizations = moved(advance(timeAt('organizations', 1000), 'organizations', page([organization(1, 1000)], { resource: 'organizations', endTime: 0, endOfStream: true }), NOW));
    expect(organizations.at.next).toEqual({ kind: 'time', startTime: 1000 });
    // Not the end: the page cannot have moved the export, so it goes on from where it was.
    const going = moved(advance(timeAt('tickets_time', 1000), 'tickets', page([ticket(1, 1000)], { endTime: 500 }), NOW));
    expect(going.at.next.startTime).toBe(1000);
  });

  it('takes the newest record second when Zendesk gives no end_time', () => {
    const step = moved(advance(timeAt('tickets_time', 100), 'tickets', page([ticket(1, 100), ticket(2, 105)]), NOW));
    expect(step.at).toMatchObject({ next: { kind: 'time', startTime: 105 }, boundary: { second: 105, keys: ['2@105'] } });
  });

  it('refuses an end_time from the future rather than skip ahead', () => {
    const future = advance(timeAt('tickets_time', 100), 'tickets', page([ticket(1, 100)], { endTime: NOW + MAX_CLOCK_SKEW_SECONDS + 1 }), NOW);
    expect(future).toMatchObject({ kind: 'refused', message: expect.stringMatching(/in the future.*start_time 100/) });
    expect(advance(timeAt('tickets_time', 100), 'tickets', page([], { endTime: NOW + 3600, endOfStream: true }), NOW).kind).toBe('refused');
    // Clocks differ a little: an end_time within the skew is believed.
    expect(moved(advance(timeAt('tickets_time', 100), 'tickets', page([ticket(1, 100)], { endTime: NOW + MAX_CLOCK_SKEW_SECONDS }), NOW)).at.next.startTime).toBe(NOW + MAX_CLOCK_SKEW_SECONDS);
  });

  it('is not the end without end_of_stream, however small or empty the page', () => {
    const empty = moved(advance(timeAt('tickets_time', 100, 50), 'tickets', page([], { endTime: 200 }), NOW));
    expect(empty).toMatchObject({ endOfStream: false, at: { next: { startTime: 200 } } });
    const short = moved(advance(timeAt('tickets_time', 100, 50), 'tickets', page([ticket(1, 150)], { endTime: 151 }), NOW));
    expect(short.endOfStream).toBe(false);
    const last = moved(advance(timeAt('tickets_time', 100, 50), 'tickets', page([ticket(1, 150)], { endTime: 151, endOfStream: true }), NOW));
    expect(last.endOfStream).toBe(true);
  });

  it('stays put on an empty last page', () => {
    const step = moved(advance(timeAt('organizations', 100), 'organizations', page([], { resource: 'organizations', endTime: 100, endOfStream: true }), NOW));
    expect(step).toMatchObject({ endOfStream: true, at: { next: { kind: 'time', startTime: 100 } }, fresh: [] });
  });

  it('moves past a second once Zendesk grew the page past the size asked to hold all of it', () => {
    // Three tickets share second 100 and two were asked for: Zendesk grew the page, so second 100 is complete.
    const step = moved(advance(timeAt('tickets_time', 100, 2), 'tickets', page([ticket(1, 100), ticket(2, 100), ticket(3, 100)], { endTime: 100 }), NOW));
    expect(step.at).toMatchObject({ endpoint: 'tickets_time', next: { kind: 'time', startTime: 101 }, boundary: EMPTY_BOUNDARY });
    expect(ids(step.fresh)).toEqual([1, 2, 3]);
    expect(step.note).toBeUndefined();
  });

  it('does not take a full page on one second for a grown one: that is a stuck second', () => {
    const step = moved(advance(timeAt('tickets_time', 100, 2), 'tickets', page([ticket(1, 100), ticket(2, 100)], { endTime: 100 }), NOW));
    expect(step.at.endpoint).toBe('tickets_cursor');
  });
});

describe('a stuck second', () => {
  const full = [ticket(1, 100), ticket(2, 100)];

  it.each([
    ['tickets_time', 'tickets_cursor', 'tickets'],
    ['users_time', 'users_cursor', 'users'],
  ] as const)('%s switches to %s, which pages within a second, keeping what it wrote there', (from, to, resource) => {
    const records = resource === 'tickets' ? full : full.map((r) => organization(r.value.id as number, 100));
    const step = moved(advance(timeAt(from, 100, 2), resource, page(records, { resource, endTime: 100 }), NOW));
    expect(step.at).toEqual({ endpoint: to, next: { kind: 'cursor', startTime: 100, cursor: null }, boundary: { second: 100, keys: ['1@100', '2@100'] }, perPage: 2 });
    expect(ids(step.fresh)).toEqual([1, 2]);
    expect(step.endOfStream).toBe(false);
    expect(step.note).toMatch(new RegExp(`switched from ${from} to ${to}`));
  });

  it.each([
    ['organizations', 'organizations'],
    ['ticket_events', 'ticket_events'],
  ] as const)('%s asks for twice the page size, up to the maximum', (endpoint, resource) => {
    const one = page([ticket(1, 100)], { resource, endTime: 100 });
    const doubled = moved(advance(timeAt(endpoint, 100, 1), resource, one, NOW));
    expect(doubled.at).toMatchObject({ endpoint, perPage: 2, next: { kind: 'time', startTime: 100 } });
    expect(doubled.note).toMatch(/asking for 2 per page/);
    expect(moved(escapeStuckSecond(timeAt(endpoint, 100, 600), resource, one)).at.perPage).toBe(1000);
  });

  it('stops, rather than skip records, when the page cannot grow any more', () => {
    const step = advance(timeAt('organizations', 100), 'organizations', page([organization(1, 100)], { resource: 'organizations', endTime: 100 }), NOW);
    expect(step).toMatchObject({ kind: 'stuck', message: expect.stringMatching(/More than 1000 organizations share second 100.*stopped at start_time 100/) });
    // The sample endpoint has no cursor twin to switch to, and 50 is its maximum.
    expect(advance(timeAt('sample', 100), 'tickets', page(full, { endTime: 100 }), NOW).kind).toBe('stuck');
  });

  it('does not write again what the previous page wrote at that second', () => {
    const before = { ...timeAt('organizations', 100, 2), boundary: { second: 100, keys: ['1@100'] } };
    const step = moved(advance(before, 'organizations', page([organization(1, 100), organization(2, 100)], { resource: 'organizations', endTime: 100 }), NOW));
    expect(ids(step.fresh)).toEqual([2]);
    expect(step.at.boundary).toEqual({ second: 100, keys: ['1@100', '2@100'] });
  });
});

describe('cursor pages', () => {
  it('moves to after_cursor and writes the page', () => {
    const step = moved(advance(cursorAt('tickets_cursor', 'a'), 'tickets', page([ticket(1, 5), ticket(2, 6)], { afterCursor: 'b' }), NOW));
    expect(step.at.next).toEqual({ kind: 'cursor', startTime: 0, cursor: 'b' });
    expect(ids(step.fresh)).toEqual([1, 2]);
  });

  it.each([
    ['a missing cursor', null],
    ['the same cursor', 'a'],
  ])('refuses %s on a page that is not the last: it would loop', (_name, afterCursor) => {
    expect(advance(cursorAt('tickets_cursor', 'a'), 'tickets', page([ticket(1, 5)], { afterCursor }), NOW)).toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/did not move the cursor on/),
    });
  });

  it('keeps the previous cursor when the last page has none, so the next poll resumes there', () => {
    const step = moved(advance(cursorAt('users_cursor', 'abc', 3), 'users', page([], { resource: 'users', afterCursor: null, endOfStream: true }), NOW));
    expect(step.at.next).toEqual({ kind: 'cursor', startTime: 3, cursor: 'abc' });
    expect(step.endOfStream).toBe(true);
    // The last page may also repeat its cursor.
    expect(moved(advance(cursorAt('users_cursor', 'abc'), 'users', page([], { resource: 'users', afterCursor: 'abc', endOfStream: true }), NOW)).at.next).toMatchObject({ cursor: 'abc' });
  });

  it('starts again from its start_time after an empty first page without a cursor', () => {
    const step = moved(advance(cursorAt('users_cursor', null, 3), 'users', page([], { resource: 'users', afterCursor: null, endOfStream: true }), NOW));
    expect(step.at.next).toEqual({ kind: 'cursor', startTime: 3, cursor: null });
    expect(requestParams(step.at, {})).toEqual({ start_time: '3' });
  });

  it('refuses a cursor too long to carry in workflow state', () => {
    const long = 'x'.repeat(MAX_CURSOR_LENGTH + 1);
    expect(advance(cursorAt('tickets_cursor', 'a'), 'tickets', page([], { afterCursor: long, endOfStream: true }), NOW)).toMatchObject({ kind: 'refused' });
    const longest = 'x'.repeat(MAX_CURSOR_LENGTH);
    expect(moved(advance(cursorAt('tickets_cursor', 'a'), 'tickets', page([ticket(1, 5)], { afterCursor: longest }), NOW)).at.next).toMatchObject({ cursor: longest });
  });

  it('after a switch from a stuck second, drops what the time pages wrote there, then forgets it', () => {
    const switched: ExportPosition = { endpoint: 'tickets_cursor', next: { kind: 'cursor', startTime: 100, cursor: null }, boundary: { second: 100, keys: ['1@100', '2@100'] } };
    const first = moved(advance(switched, 'tickets', page([ticket(1, 100), ticket(2, 100), ticket(3, 100)], { afterCursor: 'c3' }), NOW));
    expect(ids(first.fresh)).toEqual([3]);
    expect(first.at.boundary).toEqual({ second: 100, keys: ['1@100', '2@100', '3@100'] });
    const second = moved(advance(first.at, 'tickets', page([ticket(4, 100), ticket(5, 101)], { afterCursor: 'c5' }), NOW));
    expect(ids(second.fresh)).toEqual([4, 5]);
    expect(second.at.boundary).toEqual(EMPTY_BOUNDARY);
  });
});

/**
 * A model of Zendesk serving a fixed stream of record versions in (second, id) order: time pages of
 * `per_page` grown to the end of their last second, with either end_time convention, and cursor pages
 * by (second, id). Returns the page the export's next request gets.
 */
type Version = { id: number; second: number };
type Convention = 'next-second' | 'same-second';

function answer(stream: readonly Version[], at: ExportPosition, resource: Resource, convention: Convention): Page {
  const endpoint = endpointSpec(at.endpoint);
  const params = requestParams(at, {});
  const perPage = Number(params.per_page ?? endpoint.maxPerPage);
  const asRecord = (v: Version) => (resource === 'organizations' ? organization(v.id, v.second) : ticket(v.id, v.second));
  if (endpoint.paging === 'cursor') {
    const [second, id] = params.cursor ? params.cursor.split('.').map(Number) : [Number(params.start_time), -1];
    const eligible = stream.filter((v) => v.second > second! || (v.second === second && v.id > id!));
    const served = eligible.slice(0, perPage);
    const last = served[served.length - 1];
    return page(served.map(asRecord), { resource, afterCursor: last ? `${last.second}.${last.id}` : (params.cursor ?? null), endOfStream: served.length === eligible.length });
  }
  const start = Number(params.start_time);
  const eligible = stream.filter((v) => v.second >= start);
  if (!eligible.length) return page([], { resource, endTime: start, endOfStream: true });
  const lastSecond = eligible[Math.min(perPage, eligible.length) - 1]!.second;
  const served = eligible.filter((v) => v.second <= lastSecond); // Grown to hold the whole last second.
  return page(served.map(asRecord), { resource, endTime: convention === 'next-second' ? lastSecond + 1 : lastSecond, endOfStream: served.length === eligible.length });
}

describe('exactly once (property)', () => {
  const stream = fc
    .array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 12 })), { minLength: 0, maxLength: 80 })
    .map((pairs) => [...new Map(pairs.map(([id, second]) => [`${id}@${second}`, { id, second }])).values()].sort((a, b) => a.second - b.second || a.id - b.id));

  it('writes every record version exactly once, wherever pages are cut, under either end_time convention', () => {
    fc.assert(
      fc.property(
        stream,
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom<Convention>('next-second', 'same-second'),
        fc.constantFrom<[EndpointId, Resource]>(['tickets_time', 'tickets'], ['organizations', 'organizations']),
        (versions, perPage, convention, [endpoint, resource]) => {
          let at = startPosition(endpoint, { kind: 'time', startTime: 0 } as Position, perPage);
          const written: string[] = [];
          for (let request = 0; ; request++) {
            if (request > 1000) throw new Error('no end_of_stream after 1000 requests');
            const step = advance(at, resource, answer(versions, at, resource, convention), NOW);
            if (step.kind !== 'moved') throw new Error(`${step.kind}: ${step.message}`);
            written.push(...step.fresh.map((r) => `${String(r.value.id)}@${r.value.generated_timestamp ?? Date.parse(String(r.value.updated_at)) / 1000}`));
            expect(step.at.next.startTime).toBeGreaterThanOrEqual(at.next.startTime); // Never back.
            at = step.at;
            if (step.endOfStream) break;
          }
          expect(written.sort()).toEqual(versions.map((v) => `${v.id}@${v.second}`).sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});
