import path from 'node:path';
import { parseAccount, parseDestination, parseRateLimit, parseStartTime, toExportInput, UserError } from '../../client/request';

const now = Date.now();
const nowSeconds = Math.floor(now / 1000);
const base = { account: 'acme', resource: 'tickets', startTime: 0, destination: '/tmp/out' };

describe('export requests', () => {
  it('reads Unix seconds and ISO dates', () => {
    expect(parseStartTime('1700000000', now)).toBe(1700000000);
    expect(parseStartTime('2024-01-31', now)).toBe(1706659200);
    expect(parseStartTime('2024-01-31T12:00:00Z', now)).toBe(1706702400);
    expect(parseStartTime('2024-01-31T14:00:00+02:00', now)).toBe(1706702400);
    expect(parseStartTime(new Date('2024-01-31T00:00:00Z'), now)).toBe(1706659200);
    expect(parseStartTime(nowSeconds - 61, now)).toBe(nowSeconds - 61);
  });

  it.each([
    ['yesterday', /neither Unix seconds nor a real ISO date/],
    ['2024-13-45', /neither Unix seconds nor a real ISO date/],
    ['2024-02-31', /neither Unix seconds nor a real ISO date/],
    [String(now), /looks like milliseconds/],
    [new Date(now - 30_000).toISOString(), /at least one minute in the past/],
    [new Date(now + 365 * 86_400_000).toISOString().slice(0, 10), /at least one minute in the past/],
  ])('refuses start time %s in one sentence', (value, message) => {
    expect(() => parseStartTime(value, now)).toThrow(message);
  });

  it('reads account names in any case, and refuses what is not a subdomain', () => {
    expect(parseAccount(' Acme ')).toBe('acme');
    for (const bad of ['acme.evil.com', 'a/b', 'a@b', '', '-acme']) expect(() => parseAccount(bad)).toThrow(UserError);
  });

  it('builds a cursor export of tickets by default, with every support type', () => {
    const input = toExportInput(base, now);
    expect(input).toMatchObject({
      account: 'acme',
      endpoint: 'tickets_cursor',
      start: { kind: 'cursor', startTime: 0, cursor: null },
      options: { supportTypeScope: 'all' },
      destination: { kind: 'ndjson', dir: '/tmp/out' },
      budget: { requests: 10, seconds: 60 },
    });
    expect(toExportInput({ ...base, resource: 'users', sample: true }, now)).toMatchObject({ budget: { requests: 10, seconds: 1200 }, maxPages: 1 });
    expect(toExportInput({ ...base, resource: 'users' }, now).budget).toEqual({ requests: 20, seconds: 60 });
    expect(toExportInput({ ...base, mode: 'time' }, now).start).toEqual({ kind: 'time', startTime: 0 });
    expect(toExportInput({ ...base, cursor: 'MTcwMC4wfHwxfA==', startTime: undefined }, now).start).toEqual({ kind: 'cursor', startTime: 0, cursor: 'MTcwMC4wfHwxfA==' });
  });

  it.each([
    [{ resource: 'tikets' }, 'Unknown resource "tikets". Choose one of: tickets, users, organizations, ticket_events.'],
    [{ resource: 'organizations', mode: 'cursor' as const }, 'organizations can only be exported in time mode.'],
    [{ perPage: 1001 }, '--per-page is not a page size from 1 to 1000.'],
    [{ resource: 'users', sample: true, perPage: 10 }, '--per-page is given, but the sample endpoint takes no page size.'],
    [{ include: ['nope'] }, '--include names a sideload the tickets_cursor endpoint does not have ("nope"); choose from: users, groups, organizations, metric_sets.'],
    [{ resource: 'users', excludeDeleted: true }, '--exclude-deleted applies to ticket exports only, not users_cursor.'],
    [{ account: 'not a subdomain' }, 'Account "not a subdomain" is not a Zendesk subdomain (acme for acme.zendesk.com); set ZENDESK_SUBDOMAIN or pass --account.'],
    [{ startTime: undefined }, 'Give a start time: --start-time <unix seconds or ISO date> (0 exports everything).'],
    [{ mode: 'time' as const, cursor: 'abc' }, '--cursor is not a time position (tickets_time is time-based).'],
    [{ cursor: 'has spaces' }, '--cursor is not a cursor Zendesk hands out (copy after_cursor as it is).'],
    [{ followIntervalSeconds: 0 }, '--follow is not a number of seconds from 1 to 86400.'],
  ])('refuses %j', (change, message) => {
    expect(() => toExportInput({ ...base, ...change }, now)).toThrow(new UserError(message));
  });

  it('asks for comment events when ticket events go to Postgres, unless the sideloads are chosen', () => {
    const events = { ...base, resource: 'ticket_events' };
    expect(toExportInput({ ...events, destination: 'postgres' }, now).options?.include).toEqual(['comment_events']);
    expect(toExportInput({ ...events, destination: '/tmp/out' }, now).options?.include).toBeUndefined();
    expect(toExportInput({ ...base, destination: 'postgres' }, now).options?.include).toBeUndefined();
    expect(toExportInput({ ...base, destination: 'postgres', include: ['users'] }, now).options?.include).toEqual(['users']);
  });

  it('reads rate limits', () => {
    expect(parseRateLimit('30/60')).toEqual({ requests: 30, seconds: 60 });
    expect(() => parseRateLimit('fast')).toThrow(/N\/SECONDS/);
    expect(() => parseRateLimit('0/60')).toThrow(/N\/SECONDS/);
    expect(() => parseRateLimit('5000/60')).toThrow('--rate-limit is not a number of requests from 1 to 1000.');
  });

  it('names Postgres targets, never database URLs (they would carry the host of PGPASSWORD into history)', () => {
    expect(parseDestination('postgres')).toEqual({ kind: 'postgres', target: 'default' });
    expect(parseDestination('postgres:warehouse')).toEqual({ kind: 'postgres', target: 'warehouse' });
    for (const url of ['postgres://me@db/zendesk', 'postgresql://me:secret@db/zendesk']) {
      const err = (() => {
        try {
          parseDestination(url);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(UserError);
      expect(err!.message).toMatch(/database URLs stay in the worker/);
      expect(err!.message).not.toContain('secret');
    }
    expect(() => parseDestination('https://example.com/out')).toThrow(/is not a destination/);
  });

  it('names S3 targets, never buckets or endpoints (the worker holds them, and the AWS credentials)', () => {
    expect(parseDestination('s3')).toEqual({ kind: 's3', target: 'default' });
    expect(parseDestination('s3:lake_eu-2')).toEqual({ kind: 's3', target: 'lake_eu-2' });
    for (const text of ['s3://bucket/prefix', 's3:Lake', 's3:../x', 's3:']) {
      expect(() => parseDestination(text)).toThrow(/^Name an S3 target the worker knows: .*; buckets stay in the worker\.$/);
    }
  });

  it('resolves folders, and leaves checking them against the output root to the worker', () => {
    expect(parseDestination('out/here')).toEqual({ kind: 'ndjson', dir: path.resolve('out/here') });
    expect(parseDestination({ kind: 'ndjson', dir: 'x' })).toEqual({ kind: 'ndjson', dir: 'x' });
    expect(() => parseDestination('  ')).toThrow(/output folder is empty/);
  });
});
