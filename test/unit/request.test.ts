import { parseDestination, parseRateLimit, parseStartTime, toExportInput, UserError } from '../../client/request';

const now = Date.parse('2026-06-01T00:00:00Z');
const base = { account: 'acme', resource: 'tickets', startTime: 0, destination: '/tmp/out' };

describe('export requests', () => {
  it('reads Unix seconds and ISO dates', () => {
    expect(parseStartTime('1700000000', now)).toBe(1700000000);
    expect(parseStartTime('2024-01-31', now)).toBe(1706659200);
    expect(parseStartTime('2024-01-31T12:00:00Z', now)).toBe(1706702400);
    expect(parseStartTime(new Date('2024-01-31T00:00:00Z'), now)).toBe(1706659200);
  });

  it.each([
    ['yesterday', /neither Unix seconds nor an ISO date/],
    ['2024-13-45', /neither Unix seconds nor an ISO date/],
    ['2026-05-31T23:59:30Z', /at least one minute in the past/],
    ['2030-01-01', /at least one minute in the past/],
  ])('refuses start time %s in one sentence', (value, message) => {
    expect(() => parseStartTime(value, now)).toThrow(message);
  });

  it('builds a cursor export of tickets by default, with every support type', () => {
    const input = toExportInput(base, now);
    expect(input).toMatchObject({
      endpoint: 'tickets_cursor',
      start: { kind: 'cursor', startTime: 0, cursor: null },
      options: { supportTypeScope: 'all' },
      destination: { kind: 'ndjson', dir: '/tmp/out' },
      budget: { requests: 10, seconds: 60 },
    });
    expect(toExportInput({ ...base, resource: 'users', sample: true }, now).budget).toEqual({ requests: 10, seconds: 1200 });
  });

  it.each([
    [{ resource: 'tikets' }, 'Unknown resource "tikets". Choose one of: tickets, users, organizations, ticket_events.'],
    [{ resource: 'organizations', mode: 'cursor' as const }, 'organizations can only be exported in time mode.'],
    [{ perPage: 1001 }, 'Page size 1001 is out of range: use 1 to 1000.'],
    [{ include: ['nope'] }, 'The tickets_cursor endpoint has no sideload "nope"; choose from: users, groups, organizations, metric_sets.'],
    [{ resource: 'users', excludeDeleted: true }, '--exclude-deleted applies to ticket exports only, not users_cursor.'],
    [{ account: 'not a subdomain' }, 'Account "not a subdomain" is not a Zendesk subdomain; set ZENDESK_SUBDOMAIN or pass --account.'],
    [{ startTime: undefined }, 'Give a start time: --start-time <unix seconds or ISO date> (0 exports everything).'],
  ])('refuses %j', (change, message) => {
    expect(() => toExportInput({ ...base, ...change }, now)).toThrow(new UserError(message));
  });

  it('reads rate limits and destinations', () => {
    expect(parseRateLimit('30/60')).toEqual({ requests: 30, seconds: 60 });
    expect(() => parseRateLimit('fast')).toThrow(/N\/SECONDS/);
    expect(parseDestination('postgres://me@db/zendesk')).toEqual({ kind: 'postgres', url: 'postgres://me@db/zendesk' });
    expect(() => parseDestination('postgres://me:secret@db/zendesk')).toThrow(/PGPASSWORD/);
  });
});
