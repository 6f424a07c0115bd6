/** The seven endpoints page through a small seeded account as Zendesk pages, and match the oracle. */
import { startSimulator, decodeCursor, type Simulator } from '../../simulator';
import { ENDPOINTS, RESOURCE_SPECS, endpointPath, type EndpointSpec, type Resource } from '../../zendesk/endpoints';
import { get, ids, newest, pageThrough, path, sleep, type Rec } from './helpers';

const SIZES = { tickets: 300, users: 200, organizations: 120, ticket_events: 400 };
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off' });
});
afterAll(async () => {
  await sim?.close();
});

function firstUrl(endpoint: EndpointSpec, resource: Resource, extra: Record<string, string | number> = {}): string {
  const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
  const query: Record<string, string | number> = { start_time: 0, ...extra };
  if (accepts('per_page') && !('per_page' in extra)) query.per_page = 40;
  if (accepts('support_type_scope') && !('support_type_scope' in extra)) query.support_type_scope = 'all';
  return path(sim, endpointPath(endpoint, resource), query);
}
const spec = (id: string) => ENDPOINTS.find((e) => e.id === id)! as EndpointSpec;

describe('each endpoint of the table exports the whole account', () => {
  const cases = ENDPOINTS.flatMap((e) => e.resources.map((resource) => ({ id: e.id, resource })));
  test.each(cases)('$id ($resource)', async ({ id, resource }) => {
    const endpoint = spec(id);
    const pages = await pageThrough(firstUrl(endpoint, resource));
    const records = pages.flatMap((p) => p[resource] as Rec[]);
    const expected = sim.expected(undefined, resource, { supportTypeScope: 'all' });
    expect(expected.length).toBe(SIZES[resource]);
    const got = newest(records, RESOURCE_SPECS[resource].versionField);
    expect([...got.keys()].sort((a, b) => a - b)).toEqual(ids(expected));
    for (const r of expected) expect(got.get(r.id as number)).toEqual(r);
    for (const page of pages) {
      if (endpoint.paging === 'time') {
        expect(page).toEqual(expect.objectContaining({ count: (page[resource] as Rec[]).length, end_time: expect.any(Number), next_page: expect.any(String) }));
        expect(page).not.toHaveProperty('after_cursor');
      } else {
        expect(page).toEqual(expect.objectContaining({ after_cursor: expect.any(String), after_url: expect.any(String), before_cursor: null, before_url: null }));
        expect(page).not.toHaveProperty('count');
        expect(page).not.toHaveProperty('end_time');
      }
      expect((page[resource] as Rec[]).length).toBeLessThanOrEqual(id === 'sample' ? 50 : 40);
    }
    if (endpoint.paging === 'cursor') expect(records.length).toBe(expected.length); // No repeats on cursors.
  });
});

test('a .json suffix is accepted and the next page is the same URL with start_time = end_time', async () => {
  const url = path(sim, '/api/v2/incremental/organizations.json', { start_time: 0, per_page: 10 });
  const { json } = await get(url);
  const next = new URL(json.next_page as string);
  expect(next.pathname).toBe('/api/v2/incremental/organizations.json');
  expect(next.searchParams.get('per_page')).toBe('10');
  expect(next.searchParams.get('start_time')).toBe(String(json.end_time));
  // Every other parameter comes back as the client wrote it, in its place.
  const written = `${sim.url}/api/v2/incremental/tickets?per_page=5&start_time=0&include=users,groups&support_type_scope=all`;
  const page = (await get(written)).json;
  expect(page.next_page).toBe(written.replace('start_time=0', `start_time=${String(page.end_time)}`));
});

/** The version second of a record of a time-based endpoint. */
const secondOf = (r: Rec) => (typeof r.generated_timestamp === 'number' ? r.generated_timestamp : Date.parse(String(r.updated_at)) / 1000);

test('next-second (the default, as recorded): end_time is the last second + 1, pages hold whole seconds and never repeat', async () => {
  const pages = await pageThrough(firstUrl(spec('tickets_time'), 'tickets'));
  expect(pages.length).toBeGreaterThan(3);
  const seen = new Set<number>();
  for (const page of pages) {
    const records = page.tickets as Rec[];
    expect(page.end_time).toBe(secondOf(records[records.length - 1]!) + 1);
    for (const r of records) {
      expect(seen.has(r.id as number)).toBe(false);
      seen.add(r.id as number);
    }
  }
  for (let i = 1; i < pages.length; i++) {
    // Whole seconds: the next page starts in a later second than the previous page ended.
    const prev = pages[i - 1]!.tickets as Rec[];
    expect(secondOf((pages[i]!.tickets as Rec[])[0]!)).toBeGreaterThan(secondOf(prev[prev.length - 1]!));
  }
  expect(seen.size).toBe(sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).length);
  expect(pages[pages.length - 1]!.end_of_stream).toBe(true);
  expect(pages.slice(0, -1).every((p) => p.end_of_stream === false)).toBe(true);
});

test('same-second (zenpy#451): end_time is the last second; the next page, and the call after the final page, repeat it', async () => {
  const same = await startSimulator({ seed: 7, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off', timeBoundary: 'same-second' });
  try {
    const url = path(same, '/api/v2/incremental/tickets', { start_time: 0, per_page: 40, support_type_scope: 'all' });
    const pages = await pageThrough(url);
    expect(pages.length).toBeGreaterThan(3);
    for (let i = 1; i < pages.length; i++) {
      const prev = pages[i - 1]!.tickets as Rec[];
      const last = prev[prev.length - 1]!;
      expect(pages[i - 1]!.end_time).toBe(secondOf(last));
      // start_time is inclusive: the boundary record comes again.
      const first = (pages[i]!.tickets as Rec[])[0]!;
      expect(first.generated_timestamp).toBe(pages[i - 1]!.end_time);
      expect(first.id).toBe(last.id);
    }
    const final = pages[pages.length - 1]!;
    const finalRecords = final.tickets as Rec[];
    expect(final).toMatchObject({ end_of_stream: true, end_time: secondOf(finalRecords[finalRecords.length - 1]!) });
    const again = await get(final.next_page as string);
    const repeated = finalRecords.filter((r) => secondOf(r) === final.end_time).map((r) => r.id);
    expect((again.json.tickets as Rec[]).map((r) => r.id)).toEqual(repeated);
    expect(again.json).toMatchObject({ end_of_stream: true, end_time: final.end_time });
  } finally {
    await same.close();
  }
});

test('an empty time page keeps end_time = start_time and ends the stream', async () => {
  const start = Math.floor(Date.now() / 1000) - 0;
  const { status, json } = await get(path(sim, '/api/v2/incremental/users', { start_time: start }));
  expect(status).toBe(200);
  expect(json).toMatchObject({ users: [], count: 0, end_time: start, end_of_stream: true });
});

describe('cursor endpoints', () => {
  test('the last page carries after_cursor, the resume point; a later poll sees nothing new, then new versions', async () => {
    const local = await startSimulator({ seed: 3, sizes: { tickets: 90 }, recentWindowSeconds: 0, rateLimits: 'off' });
    try {
      const url = path(local, '/api/v2/incremental/tickets/cursor', { start_time: 0, per_page: 40, support_type_scope: 'all' });
      const pages = await pageThrough(url);
      const last = pages[pages.length - 1]!;
      expect(last.end_of_stream).toBe(true);
      const records = pages.flatMap((p) => p.tickets as Rec[]);
      const tail = records[records.length - 1]!;
      expect(decodeCursor(last.after_cursor as string)).toEqual({ second: tail.generated_timestamp, id: tail.id });
      expect(Buffer.from(last.after_cursor as string, 'base64').toString()).toBe(`${String(tail.generated_timestamp)}.0||${String(tail.id)}|`);
      expect(pages[0]!.before_cursor).toBeNull();

      const again = await get(last.after_url as string);
      expect(again.json).toMatchObject({ tickets: [], end_of_stream: true, after_cursor: last.after_cursor });

      const updated = local.updateRecord(undefined, 'tickets', 5);
      await sleep(1100); // Visible once older than the recent window (0 s: the next second).
      const poll = await get(`${local.url}/api/v2/incremental/tickets/cursor?cursor=${encodeURIComponent(last.after_cursor as string)}&support_type_scope=all`);
      expect(poll.json.tickets).toEqual([updated]);
      expect(updated.subject).toMatch(/revision 1/);
      expect(poll.json.after_cursor).not.toBe(last.after_cursor);
    } finally {
      await local.close();
    }
  });

  test('a first call that finds nothing returns after_cursor null', async () => {
    const { json } = await get(path(sim, '/api/v2/incremental/users/cursor', { start_time: Math.floor(Date.now() / 1000) }));
    expect(json).toEqual({ users: [], after_cursor: null, after_url: null, before_cursor: null, before_url: null, end_of_stream: true });
  });

  test('emptyFirstCursor "start": that call answers a cursor at its start_time instead, which later finds what comes', async () => {
    const local = await startSimulator({ seed: 3, sizes: { users: 5 }, recentWindowSeconds: 0, rateLimits: 'off', emptyFirstCursor: 'start' });
    try {
      const start = Math.floor(Date.now() / 1000);
      const { json } = await get(path(local, '/api/v2/incremental/users/cursor', { start_time: start }));
      expect(json).toMatchObject({ users: [], before_cursor: null, before_url: null, end_of_stream: true });
      expect(decodeCursor(json.after_cursor as string)).toEqual({ second: start, id: 0 });
      local.updateRecord(undefined, 'users', 2);
      await sleep(1100);
      expect(((await get(json.after_url as string)).json.users as Rec[]).map((u) => u.id)).toEqual([2]);
    } finally {
      await local.close();
    }
  });

  test('a bad cursor is a 400', async () => {
    const reply = await get(`${sim.url}/api/v2/incremental/tickets/cursor?cursor=bm90LWEtY3Vyc29y`);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe('InvalidValue');
  });
});

describe('a bulk update: more records in one second than a page holds', () => {
  let bulk: Simulator;
  beforeAll(async () => {
    bulk = await startSimulator({ seed: 5, sizes: { organizations: 200, tickets: 200 }, sameSecond: 120, recentWindowSeconds: 0, rateLimits: 'off' });
  });
  afterAll(async () => {
    await bulk?.close();
  });

  test('pages grow past per_page to the end of the shared second, and always move on', async () => {
    const pages = await pageThrough(path(bulk, '/api/v2/incremental/organizations', { start_time: 0, per_page: 50 }));
    expect(Math.max(...pages.map((p) => p.count as number))).toBeGreaterThanOrEqual(120);
    for (let i = 1; i < pages.length; i++) expect(pages[i]!.end_time as number).toBeGreaterThan(pages[i - 1]!.end_time as number);
    const got = newest(pages.flatMap((p) => p.organizations as Rec[]), 'updated_at');
    expect([...got.keys()].sort((a, b) => a - b)).toEqual(ids(bulk.expected(undefined, 'organizations')));
  });

  const bulkSecondOf = (s: Simulator) => Date.parse(String(s.expected(undefined, 'organizations').find((o) => o.id === 1)!.updated_at)) / 1000;

  test('a grown page of one shared second: next-second moves past it; same-second answers that second, so the page comes again', async () => {
    const bulkSecond = bulkSecondOf(bulk);
    const grown = await get(path(bulk, '/api/v2/incremental/organizations', { start_time: bulkSecond, per_page: 50 }));
    const records = grown.json.organizations as Rec[];
    expect(records).toHaveLength(120);
    expect(records.every((o) => secondOf(o) === bulkSecond)).toBe(true);
    expect(grown.json).toMatchObject({ count: 120, end_time: bulkSecond + 1, end_of_stream: false });

    const same = await startSimulator({ seed: 5, sizes: { organizations: 200, tickets: 200 }, sameSecond: 120, timeBoundary: 'same-second', recentWindowSeconds: 0, rateLimits: 'off' });
    try {
      // Its own bulk second: a second may have passed since the first simulator made its records.
      const sameBulkSecond = bulkSecondOf(same);
      const url = path(same, '/api/v2/incremental/organizations', { start_time: sameBulkSecond, per_page: 50 });
      const first = await get(url);
      expect(first.json).toMatchObject({ count: 120, end_time: sameBulkSecond, end_of_stream: false, next_page: url });
      expect((await get(first.json.next_page as string)).json).toEqual(first.json); // A client must notice the repeat.
    } finally {
      await same.close();
    }
  });

  test('growPages=false cuts the page: end_time repeats, end_of_stream stays false, next_page is the request itself', async () => {
    const stuck = await startSimulator({ seed: 5, sizes: { organizations: 200, tickets: 200 }, sameSecond: 120, growPages: false, recentWindowSeconds: 0, rateLimits: 'off' });
    try {
      const bulkSecond = bulkSecondOf(stuck);
      const url = path(stuck, '/api/v2/incremental/organizations', { start_time: bulkSecond, per_page: 50 });
      const first = await get(url);
      expect(first.json).toMatchObject({ count: 50, end_time: bulkSecond, end_of_stream: false, next_page: url });
      const second = await get(first.json.next_page as string);
      expect(second.json).toEqual(first.json); // A naive client loops here forever.
      // The cursor export is the way out: it pages through the same second.
      const pages = await pageThrough(path(stuck, '/api/v2/incremental/tickets/cursor', { start_time: 0, per_page: 50, support_type_scope: 'all' }));
      expect(pages.flatMap((p) => p.tickets as Rec[]).length).toBe(200);
    } finally {
      await stuck.close();
    }
  });
});

test('the sample endpoint answers at most 50 records and ignores per_page, which the table does not list for it', async () => {
  const { json } = await get(path(sim, '/api/v2/incremental/tickets/sample', { start_time: 0, per_page: 5 }));
  expect((json.tickets as Rec[]).length).toBe(50);
  expect(json).toMatchObject({ count: 50, end_of_stream: false });
});

describe('params', () => {
  test('per_page sets the page size; values outside 1..maxPerPage are a 400 with a JSON body', async () => {
    const { json } = await get(path(sim, '/api/v2/incremental/users', { start_time: 0, per_page: 7 }));
    expect(json.count).toBe(7);
    for (const bad of ['0', '1001', 'abc', '-1']) {
      const reply = await get(`${sim.url}/api/v2/incremental/users?start_time=0&per_page=${bad}`);
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ error: 'InvalidValue', description: expect.stringMatching(/per_page/) });
    }
  });

  test('include adds top-level arrays of the related objects; an unknown sideload is a 400', async () => {
    const { json } = await get(path(sim, '/api/v2/incremental/tickets', { start_time: 0, per_page: 20, include: 'users,groups,organizations,metric_sets' }));
    const tickets = json.tickets as Rec[];
    const users = json.users as Rec[];
    expect(users.length).toBeGreaterThan(0);
    const wanted = new Set(tickets.flatMap((t) => [t.requester_id, t.submitter_id, t.assignee_id]));
    expect(new Set(users.map((u) => u.id))).toEqual(wanted);
    expect(users[0]).toEqual(sim.expected(undefined, 'users').find((u) => u.id === users[0]!.id));
    expect(new Set((json.groups as Rec[]).map((g) => g.id))).toEqual(new Set(tickets.map((t) => t.group_id)));
    expect(new Set((json.organizations as Rec[]).map((o) => o.id))).toEqual(new Set(tickets.map((t) => t.organization_id)));
    expect((json.metric_sets as Rec[]).map((m) => m.ticket_id)).toEqual(tickets.map((t) => t.id));
    const userSide = await get(path(sim, '/api/v2/incremental/users/cursor', { start_time: 0, per_page: 5, include: 'identities' }));
    expect((userSide.json.identities as Rec[]).map((i) => i.user_id)).toEqual((userSide.json.users as Rec[]).map((u) => u.id));
    for (const [p, name] of [['/api/v2/incremental/tickets', 'comment_events'], ['/api/v2/incremental/organizations', 'users'], ['/api/v2/incremental/tickets', 'last_audits']] as const) {
      const reply = await get(path(sim, p, { start_time: 0, include: name }));
      expect(reply.status).toBe(400);
      expect(reply.json.error).toBe('InvalidValue');
    }
  });

  test('include=comment_events puts Comment child events into ticket events', async () => {
    const plain = await get(path(sim, '/api/v2/incremental/ticket_events', { start_time: 0, per_page: 50, support_type_scope: 'all' }));
    const children = (e: Rec) => e.child_events as Rec[];
    const events = plain.json.ticket_events as Rec[];
    expect(events.flatMap(children).some((c) => c.event_type === 'Comment')).toBe(false);
    expect(events.flatMap(children).some((c) => c.comment_present === true)).toBe(true);
    expect(events[0]).toMatchObject({ event_type: 'Audit', timestamp: expect.any(Number), via: expect.any(String), system: expect.any(Object), ticket_id: expect.any(Number) });

    const rich = await get(path(sim, '/api/v2/incremental/ticket_events', { start_time: 0, per_page: 50, support_type_scope: 'all', include: 'comment_events' }));
    const richEvents = rich.json.ticket_events as Rec[];
    const comments = richEvents.flatMap(children).filter((c) => c.event_type === 'Comment');
    expect(comments.length).toBe(events.filter((e) => children(e).some((c) => c.comment_present === true)).length);
    expect(comments[0]).toMatchObject({ type: 'Comment', body: expect.any(String), html_body: expect.any(String), public: expect.any(Boolean), attachments: [], author_id: expect.any(Number), audit_id: expect.any(Number), via: { channel: expect.any(String) } });
    expect(rich.json).not.toHaveProperty('comment_events'); // Inline, not a top-level array.
  });

  test('exclude_deleted=true drops deleted tickets; they are in the stream otherwise', async () => {
    const all = (await pageThrough(path(sim, '/api/v2/incremental/tickets/cursor', { start_time: 0, support_type_scope: 'all' }))).flatMap((p) => p.tickets as Rec[]);
    expect(all.some((t) => t.status === 'deleted')).toBe(true);
    const kept = (await pageThrough(path(sim, '/api/v2/incremental/tickets', { start_time: 0, support_type_scope: 'all', exclude_deleted: 'true' }))).flatMap((p) => p.tickets as Rec[]);
    expect(kept.some((t) => t.status === 'deleted')).toBe(false);
    expect(ids([...newest(kept, 'generated_timestamp').values()])).toEqual(ids(sim.expected(undefined, 'tickets', { supportTypeScope: 'all', excludeDeleted: true })));
  });

  test('support_type_scope: the default (agent) leaves AI-agent tickets and their events out', async () => {
    const fetchAll = async (p: string, resource: string, scope?: string) =>
      (await pageThrough(path(sim, p, { start_time: 0, ...(scope ? { support_type_scope: scope } : {}) }))).flatMap((page) => page[resource] as Rec[]);
    const byDefault = await fetchAll('/api/v2/incremental/tickets/cursor', 'tickets');
    const all = await fetchAll('/api/v2/incremental/tickets/cursor', 'tickets', 'all');
    const ai = await fetchAll('/api/v2/incremental/tickets/cursor', 'tickets', 'ai_agent');
    // Zendesk's records have no field saying who handled them: only the scope filter tells.
    expect(all.some((t) => 'support_type' in t)).toBe(false);
    expect(ai.length).toBeGreaterThan(0);
    expect(new Set([...ids(byDefault), ...ids(ai)]).size).toBe(all.length); // Disjoint, and together everything.
    expect(byDefault.length + ai.length).toBe(all.length);
    expect(ids(byDefault)).toEqual(ids(sim.expected(undefined, 'tickets')));
    expect(ids(ai)).toEqual(ids(sim.expected(undefined, 'tickets', { supportTypeScope: 'ai_agent' })));
    expect(ai.every((t) => t.from_messaging_channel === true)).toBe(true);
    const events = await fetchAll('/api/v2/incremental/ticket_events', 'ticket_events');
    expect(ids([...newest(events, 'timestamp').values()])).toEqual(ids(sim.expected(undefined, 'ticket_events')));
    expect(sim.expected(undefined, 'ticket_events').length).toBeLessThan(SIZES.ticket_events);
    expect((await get(path(sim, '/api/v2/incremental/tickets', { start_time: 0, support_type_scope: 'bots' }))).status).toBe(400);
  });

  test('a start_time that is missing or not a number is a 400', async () => {
    for (const q of ['', '?start_time=', '?start_time=yesterday', '?start_time=-5']) {
      const reply = await get(`${sim.url}/api/v2/incremental/tickets${q}`);
      expect(reply.status).toBe(400);
      expect(reply.json.error).toBe('InvalidValue');
    }
  });
});

describe('a start_time inside the recent window or in the future is a 422 "Too recent start_time"', () => {
  const sentence = (n: string) => `Too recent start_time. Use a start_time older than ${n}`;
  test.each([
    { label: 'by default, JSON naming 5 minutes (recorded)', answer: undefined, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: 'InvalidValue', description: sentence('5 minutes') }) },
    { label: 'text-5-minutes: the same sentence as text/plain (recorded)', answer: 'text-5-minutes', type: 'text/plain', body: sentence('5 minutes') },
    { label: 'json-1-minute: JSON naming the one-minute rule', answer: 'json-1-minute', type: 'application/json; charset=utf-8', body: JSON.stringify({ error: 'InvalidValue', description: sentence('1 minute') }) },
  ] as const)('$label', async ({ answer, type, body }) => {
    const strict = await startSimulator({ sizes: { tickets: 10 }, rateLimits: 'off', tooRecentAnswer: answer }); // The one-minute rule.
    try {
      const now = Math.floor(Date.now() / 1000);
      for (const p of ['/api/v2/incremental/tickets', '/api/v2/incremental/tickets/cursor']) {
        for (const start of [now - 30, now + 3600]) {
          const reply = await get(path(strict, p, { start_time: start }));
          expect(reply.status).toBe(422);
          expect(reply.headers.get('content-type')).toBe(type);
          expect(reply.text).toBe(body);
        }
        expect((await get(path(strict, p, { start_time: now - 90 }))).status).toBe(200);
      }
    } finally {
      await strict.close();
    }
  });
});

test('versions written at run time wait out the recent window, then appear', async () => {
  const live = await startSimulator({ seed: 11, sizes: { organizations: 30 }, recentWindowSeconds: 1, rateLimits: 'off' });
  try {
    const start = Math.floor(Date.now() / 1000) - 5;
    const updated = live.updateRecord(undefined, 'organizations', 4);
    const [added] = live.addRecords(undefined, 'organizations', 1);
    expect(added).toBe(31);
    const url = path(live, '/api/v2/incremental/organizations', { start_time: start });
    expect((await get(url)).json.organizations).toEqual([]);
    await sleep(2100);
    const page = await get(url);
    expect(page.json.organizations).toEqual([updated, live.expected(undefined, 'organizations').find((o) => o.id === 31)]);
    expect(live.expected(undefined, 'organizations')).toHaveLength(31);
    expect(live.expected(undefined, 'organizations').find((o) => o.id === 4)).toEqual(updated);
  } finally {
    await live.close();
  }
});

test('accounts have their own data: the default at the root, the others under /accounts/<name>', async () => {
  const multi = await startSimulator({ accounts: ['acme', 'beta'], sizes: { users: 40 }, recentWindowSeconds: 0, rateLimits: 'off' });
  try {
    expect(multi.accountUrl('beta')).toBe(`${multi.url}/accounts/beta`);
    const root = (await get(`${multi.url}/api/v2/incremental/users?start_time=0`)).json.users as Rec[];
    const acme = (await get(`${multi.accountUrl('acme')}/api/v2/incremental/users?start_time=0`)).json.users as Rec[];
    const beta = (await get(`${multi.accountUrl('beta')}/api/v2/incremental/users?start_time=0`)).json.users as Rec[];
    expect(acme).toEqual(root);
    expect(beta).toEqual(multi.expected('beta', 'users'));
    expect(beta).not.toEqual(acme);
    expect(root).toEqual(multi.expected(undefined, 'users'));
    expect(String(beta[0]!.url)).toContain('https://beta.zendesk.com/');
  } finally {
    await multi.close();
  }
});

test('the same seed gives the same records', async () => {
  const again = await startSimulator({ seed: 7, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off', endTime: 1_800_000_000 });
  const twin = await startSimulator({ seed: 7, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off', endTime: 1_800_000_000 });
  try {
    expect(again.expected(undefined, 'tickets', { supportTypeScope: 'all' })).toEqual(twin.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
  } finally {
    await Promise.all([again.close(), twin.close()]);
  }
});

test('data shape options: events per ticket, the time span and its end', async () => {
  const end = 1_790_000_000;
  const shaped = await startSimulator({ sizes: { tickets: 40, users: 20 }, eventsPerTicket: 3, spanSeconds: 3600, endTime: end, recentWindowSeconds: 0, rateLimits: 'off' });
  try {
    const events = shaped.expected(undefined, 'ticket_events', { supportTypeScope: 'all' });
    expect(events).toHaveLength(120);
    for (const e of events) expect(e.ticket_id).toBe(Math.ceil((e.id as number) / 3));
    const tickets = shaped.expected(undefined, 'tickets', { supportTypeScope: 'all' });
    for (const t of tickets) {
      expect(t.generated_timestamp).toBeGreaterThanOrEqual(end - 3600);
      expect(t.generated_timestamp).toBeLessThan(end);
      expect(Date.parse(String(t.updated_at)) / 1000).toBeLessThanOrEqual(t.generated_timestamp as number);
      expect(Date.parse(String(t.created_at))).toBeLessThanOrEqual(Date.parse(String(t.updated_at)));
    }
    // Some versions come from system updates: updated_at older than generated_timestamp.
    expect(tickets.some((t) => Date.parse(String(t.updated_at)) / 1000 < (t.generated_timestamp as number))).toBe(true);
    // Deleted users stay in the stream with active: false. How Zendesk marks a deleted organization is
    // not on record, so organizations carry no such mark.
    expect(sim.expected(undefined, 'users').some((u) => u.active === false)).toBe(true);
    expect(sim.expected(undefined, 'organizations').some((o) => 'deleted_at' in o)).toBe(false);
  } finally {
    await shaped.close();
  }
});
