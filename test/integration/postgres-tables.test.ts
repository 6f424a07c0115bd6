/**
 * The tables analysts query, on a real PostgreSQL: a database written by 0.2.1 is upgraded in place by
 * workers starting at once, its typed columns and derived tables filled from the stored records without
 * a request to Zendesk; and README's five questions, run as written, answer what the simulator's oracle
 * says of a real export.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { startExportStack, type ExportStack } from '../helpers/exports';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { postgresDestination } from '../../activities/destinations/postgres';
import { RESOURCES, RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { versionKey, versionSecond } from '../../zendesk/page';
import { startPosition } from '../../zendesk/paging';
import type { PageWrite } from '../../activities/destinations/destination';

const MIGRATIONS = path.resolve(__dirname, '..', '..', 'activities', 'destinations', 'migrations');
const FAST = { requests: 1000, seconds: 1 };

let server: DevServer;
let env: TestWorkflowEnvironment;
let bundle: { code: string };
let pg: PostgresServer;
let stack: ExportStack | undefined;
const clients: PgClient[] = [];

beforeAll(async () => {
  [server, pg] = await Promise.all([startDevServer(), startPostgres()]);
  [env, bundle] = await Promise.all([createDevServerEnv(server), bundleWorkflows(WORKFLOWS_PATH)]);
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await env?.teardown();
  await server?.stop();
  await pg?.stop();
});

/** A new database on the test's server, and its URL. */
async function newDatabase(name: string): Promise<{ url: string; db: PgClient }> {
  const admin = new PgClient({ connectionString: pg.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  const db = new PgClient({ connectionString: url });
  await db.connect();
  clients.push(db);
  return { url, db };
}

test('a database written by 0.2.1 is upgraded in place by several workers at once, its new columns filled from the stored records', async () => {
  const { url, db } = await newDatabase('from_0_2_1');
  // The schema as 0.2.1 left it: its three migrations, and its record tables as it created them on first use.
  for (const file of ['001_tables.sql', '002_checkpoint_origin.sql', '003_checkpoint_run.sql']) await db.query(readFileSync(path.join(MIGRATIONS, file), 'utf8'));
  for (const resource of RESOURCES) {
    await db.query(`CREATE TABLE zendesk_${resource} (account text NOT NULL, id bigint NOT NULL, version bigint NOT NULL, record jsonb NOT NULL,
      export_id text NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account, id))`);
  }
  const insert = (resource: string, id: number, version: number, record: object) =>
    db.query(`INSERT INTO zendesk_${resource} (account, id, version, record, export_id) VALUES ('acme', $1, $2, $3, 'zendesk-export/acme/${resource}/x')`, [id, version, JSON.stringify({ id, ...record })]);
  await insert('tickets', 1, 1000, {
    status: 'open', subject: 'Printer', created_at: '2026-11-01T10:00:00Z', updated_at: '2026-11-02T11:30:00Z', group_id: 7, assignee_id: null,
    requester_id: '9007199254740993', tags: ['a', 'b'], custom_fields: [{ id: 360001, value: 'x' }, { id: 360002, value: 1.5 }, { id: 360003, value: null }],
  });
  // A deleted ticket, with values in forms Zendesk does not document: NULL in the typed columns, the page not refused.
  await insert('tickets', 2, 1001, { status: 'deleted', created_at: '2026-02-30T00:00:00Z', updated_at: 12, group_id: 'seven', tags: 'x', custom_fields: {} });
  await insert('users', 5, 1000, { name: 'Ann', email: 'ann@example.com', role: 'agent', active: false, organization_id: 3, created_at: '2026-01-01T00:00:00Z' });
  await insert('organizations', 3, 1000, { name: 'Org', domain_names: ['org.example.com'], group_id: null, deleted_at: '2026-11-03T00:00:00Z' });
  await insert('ticket_events', 70, 1000, {
    ticket_id: 1, timestamp: 1000, created_at: '2026-11-02T11:30:00Z', updater_id: 5, via: 'Web form', event_type: 'Audit',
    child_events: [
      { id: 701, event_type: 'Change', via: 'Web form', status: 'pending', previous_value: 'open', comment_present: true },
      { id: 702, event_type: 'Comment', type: 'Comment', author_id: 5, body: 'Hello', public: true, created_at: '2026-11-02T11:30:00Z' },
      'not an object',
    ],
  });
  // The metric_sets sideload as 0.2.1 stored it: a table made on first use, version 0.
  await db.query(`CREATE TABLE zendesk_tickets__metric_sets (account text NOT NULL, id bigint NOT NULL, version bigint NOT NULL, record jsonb NOT NULL,
    export_id text NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account, id))`);
  await db.query(`INSERT INTO zendesk_tickets__metric_sets (account, id, version, record, export_id) VALUES ('acme', 500000001, 0, $1, 'x')`, [
    JSON.stringify({
      id: 500000001, ticket_id: 1, reopens: 2, replies: 3, solved_at: null, created_at: '2026-11-01T10:00:00Z', updated_at: '2026-11-02T11:30:00Z',
      reply_time_in_minutes: { calendar: 95, business: 31 }, full_resolution_time_in_minutes: { calendar: null, business: null }, on_hold_time_in_minutes: 'x',
    }),
  ]);

  // Three workers start at once against it, one keeping history; each migrates (readCheckpoint is the first thing a worker asks).
  const workers = [0, 1, 2].map((i) => postgresDestination({ name: `w${i}`, url, history: i === 1 }));
  try {
    await Promise.all(workers.map((w) => w.readCheckpoint({ account: 'acme', resource: 'tickets', exportId: 'x', origin: 'o', owner: { workflowId: 'x' } })));
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }

  const applied = await db.query('SELECT name FROM zendesk_schema_migrations ORDER BY name');
  expect(applied.rows.map((r) => r.name)).toEqual(['001_tables.sql', '002_checkpoint_origin.sql', '003_checkpoint_run.sql', '004_typed_tables.sql', '005_ticket_metrics.sql', '006_export_state.sql', 'history/001_versions.sql']);
  // History starts with the versions stored, in typed columns.
  const versions = await db.query(`SELECT 'tickets' AS resource, id::int, version::int, status AS what FROM zendesk_tickets_versions
    UNION ALL SELECT 'users', id::int, version::int, name FROM zendesk_users_versions
    UNION ALL SELECT 'organizations', id::int, version::int, name FROM zendesk_organizations_versions ORDER BY resource, id`);
  expect(versions.rows).toEqual([
    { resource: 'organizations', id: 3, version: 1000, what: 'Org' },
    { resource: 'tickets', id: 1, version: 1000, what: 'open' },
    { resource: 'tickets', id: 2, version: 1001, what: 'deleted' },
    { resource: 'users', id: 5, version: 1000, what: 'Ann' },
  ]);
  const tickets = await db.query(`SELECT id::int, status, subject, created_at, updated_at, group_id::text, assignee_id, requester_id::text, tags, deleted
    FROM zendesk_tickets ORDER BY id`);
  expect(tickets.rows).toEqual([
    { id: 1, status: 'open', subject: 'Printer', created_at: new Date('2026-11-01T10:00:00Z'), updated_at: new Date('2026-11-02T11:30:00Z'), group_id: '7', assignee_id: null, requester_id: '9007199254740993', tags: ['a', 'b'], deleted: false },
    { id: 2, status: 'deleted', subject: null, created_at: null, updated_at: null, group_id: null, assignee_id: null, requester_id: null, tags: null, deleted: true },
  ]);
  expect((await db.query('SELECT name, email, role, active, organization_id::int, created_at, deleted FROM zendesk_users')).rows).toEqual([
    { name: 'Ann', email: 'ann@example.com', role: 'agent', active: false, organization_id: 3, created_at: new Date('2026-01-01T00:00:00Z'), deleted: true },
  ]);
  expect((await db.query('SELECT name, domain_names, group_id, deleted_at, deleted FROM zendesk_organizations')).rows).toEqual([
    { name: 'Org', domain_names: ['org.example.com'], group_id: null, deleted_at: new Date('2026-11-03T00:00:00Z'), deleted: true },
  ]);
  expect((await db.query('SELECT ticket_id::int, field_id::int, value, value_json FROM zendesk_ticket_custom_fields ORDER BY field_id')).rows).toEqual([
    { ticket_id: 1, field_id: 360001, value: 'x', value_json: 'x' },
    { ticket_id: 1, field_id: 360002, value: '1.5', value_json: 1.5 },
    { ticket_id: 1, field_id: 360003, value: null, value_json: null },
  ]);
  expect((await db.query('SELECT id::int, ticket_id::int, event_id::int, author_id::int, public, body, created_at FROM zendesk_ticket_comments')).rows).toEqual([
    { id: 702, ticket_id: 1, event_id: 70, author_id: 5, public: true, body: 'Hello', created_at: new Date('2026-11-02T11:30:00Z') },
  ]);
  expect((await db.query('SELECT id::int, field, ticket_id::int, value, previous_value, updater_id::int, via FROM zendesk_ticket_field_changes')).rows).toEqual([
    { id: 701, field: 'status', ticket_id: 1, value: 'pending', previous_value: 'open', updater_id: 5, via: 'Web form' },
  ]);
  const metrics = await db.query(`SELECT id::int, ticket_id::int, reopens::int, replies::int, reply_time_calendar_minutes::int, reply_time_business_minutes::int,
    full_resolution_calendar_minutes, on_hold_calendar_minutes, solved_at, updated_at FROM zendesk_ticket_metrics`);
  expect(metrics.rows).toEqual([
    {
      id: 500000001, ticket_id: 1, reopens: 2, replies: 3, reply_time_calendar_minutes: 95, reply_time_business_minutes: 31,
      full_resolution_calendar_minutes: null, on_hold_calendar_minutes: null, solved_at: null, updated_at: new Date('2026-11-02T11:30:00Z'),
    },
  ]);
  const status = await db.query(`SELECT resource, records::int, newest_version_at FROM zendesk_export_status WHERE account = 'acme' ORDER BY resource`);
  expect(status.rows).toEqual(
    ['organizations', 'ticket_events', 'tickets', 'users'].map((resource) => ({ resource, records: resource === 'tickets' ? 2 : 1, newest_version_at: new Date((resource === 'tickets' ? 1001 : 1000) * 1000) })),
  );
});

/** README's five questions, as written there, for one account and ticket. */
function readmeQuestions(account: string, ticketId: number): string[] {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Into PostgreSQL'), readme.indexOf('## Encrypted payloads'));
  const queries = [...section.matchAll(/```sql\n(--[^\n]*\n[\s\S]*?)```/g)].map((m) => m[1]!);
  return queries.slice(-5).map((q) => q.replaceAll("'acme'", `'${account}'`).replaceAll('ticket_id = 42', `ticket_id = ${ticketId}`));
}

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const count = <T>(items: T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1));
};

test("README's five questions answer what the export holds, with plain SQL", async () => {
  const { url, db } = await newDatabase('questions');
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: { tickets: 120, users: 40, organizations: 20, ticket_events: 400 }, rateLimits: 'off', spanSeconds: 86_400 }, postgres: { default: url } }));
  const requests = RESOURCES.map((resource) => ({ account: s.account, resource, startTime: 0, perPage: 50, destination: 'postgres', rateLimit: FAST }));
  await s.run(async () => {
    for (const h of await s.client.startMany(requests)) await h.result();
  });
  const tickets: Rec[] = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  const events: Rec[] = s.sim.expected(undefined, 'ticket_events', { supportTypeScope: 'all', commentEvents: true });
  const comments = events.flatMap((e) => e.child_events.filter((c: Rec) => c.event_type === 'Comment').map((c: Rec) => ({ ...c, ticket_id: e.ticket_id })));
  const ticketId = count(comments, (c) => String(c.ticket_id)).sort((a, b) => b[1] - a[1])[0]![0];
  const questions = readmeQuestions(s.account, Number(ticketId));
  expect(questions).toHaveLength(5);
  for (const q of questions) expect(q).not.toMatch(/->|#>|record/);
  const ask = async (i: number) => (await db.query(questions[i]!)).rows;

  expect(await ask(0)).toEqual(count(tickets, (t) => t.status).map(([status, n]) => ({ status, tickets: String(n) })));

  const open = tickets.filter((t) => ['new', 'open', 'pending', 'hold'].includes(t.status));
  expect(open.length).toBeGreaterThan(0);
  expect(await ask(1)).toEqual(count(open, (t) => String(t.group_id).padStart(6, '0')).map(([g, n]) => ({ group_id: String(Number(g)), tickets: String(n) })));

  const ofTicket = comments.filter((c) => String(c.ticket_id) === ticketId).sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
  expect(ofTicket.length).toBeGreaterThan(1);
  expect(await ask(2)).toEqual(ofTicket.map((c) => ({ created_at: new Date(c.created_at), author_id: String(c.author_id), public: c.public, body: c.body })));

  // Every comment and every status change once.
  const counted = await db.query(`SELECT (SELECT count(*)::int FROM zendesk_ticket_comments) AS comments,
    (SELECT count(*)::int FROM zendesk_ticket_field_changes WHERE field = 'status') AS statuses`);
  expect(counted.rows[0]).toEqual({ comments: comments.length, statuses: events.length });

  // Each status change lasts until the ticket's next one.
  const stays = new Map<string, { stays: number; seconds: number }>();
  const byTicket = new Map<number, Rec[]>();
  for (const e of events) byTicket.set(e.ticket_id, [...(byTicket.get(e.ticket_id) ?? []), e]);
  for (const list of byTicket.values()) {
    list.sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
    list.slice(0, -1).forEach((e, i) => {
      const stay = stays.get(e.child_events[0].status) ?? { stays: 0, seconds: 0 };
      stays.set(e.child_events[0].status, { stays: stay.stays + 1, seconds: stay.seconds + list[i + 1]!.timestamp - e.timestamp });
    });
  }
  expect(stays.size).toBeGreaterThan(1);
  expect(await ask(3)).toEqual(
    [...stays].sort(([a], [b]) => (a < b ? -1 : 1)).map(([status, v]) => ({ status, stays: String(v.stays), hours: (Math.round(v.seconds / 360) / 10).toFixed(1) })),
  );

  const now = new Date();
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const deleted = tickets.filter((t) => t.status === 'deleted' && Date.parse(t.updated_at) >= monthStart).sort((a, b) => a.id - b.id);
  // Versions span the last day, so all deleted tickets but on a month's first day, when some fall before it.
  expect(deleted.length > 0 || now.getUTCDate() === 1).toBe(true);
  expect(await ask(4)).toEqual(deleted.map((t) => ({ id: String(t.id), subject: t.subject, updated_at: new Date(t.updated_at) })));

  const status = await db.query(
    'SELECT resource, endpoint, records::int, lag IS NOT NULL AS has_lag, last_batch_at IS NOT NULL AS has_batch, status FROM zendesk_export_status WHERE account = $1 ORDER BY resource',
    [s.account],
  );
  const expected = Object.fromEntries(RESOURCES.map((r) => [r, s.sim.expected(undefined, r, { supportTypeScope: 'all' }).length]));
  // Every export read to the end of its stream: caught up.
  expect(status.rows.map((r) => [r.resource, r.records, r.has_lag, r.has_batch, r.status])).toEqual(
    Object.keys(expected).sort().map((r) => [r, expected[r], true, true, 'caught-up']),
  );
});

test('a target that keeps history holds every version once, across updates and a second export of the same range; metric sets as typed columns', async () => {
  const { url, db } = await newDatabase('history');
  const out = mkdtempSync(path.join(os.tmpdir(), 'zd-history-'));
  const s = (stack = await startExportStack(env, bundle, {
    simulator: { sizes: { tickets: 60, users: 30, organizations: 15, ticket_events: 10 }, rateLimits: 'off' },
    activities: { destinations: { outputRoot: out, postgres: { default: url }, history: ['default'] } },
  }));
  const VERSIONED = ['tickets', 'users', 'organizations'] as const;
  const exportAll = () =>
    s.run(async () => {
      const requests = VERSIONED.map((resource) => ({
        account: s.account, resource, startTime: 0, perPage: 20, destination: 'postgres', rateLimit: FAST, ...(resource === 'tickets' && { include: ['metric_sets'] }),
      }));
      for (const h of await s.client.startMany(requests)) await h.result();
    });
  /** Every version the simulator has served so far, per resource, as `id@second`. */
  const served = Object.fromEntries(VERSIONED.map((r) => [r, new Set<string>()]));
  const noteServed = () => {
    for (const r of VERSIONED) for (const rec of s.sim.expected(undefined, r, { supportTypeScope: 'all' })) served[r]!.add(versionKey(rec, RESOURCE_SPECS[r].versionField));
  };

  await exportAll();
  noteServed();
  // New versions of some records, then the whole range again: the old versions come back and are not kept twice.
  const updated = { tickets: [3, 4, 17], users: [7], organizations: [2] };
  let newestSecond = 0;
  for (const [resource, ids] of Object.entries(updated)) {
    for (const id of ids) newestSecond = Math.max(newestSecond, versionSecond(s.sim.updateRecord(undefined, resource as Resource, id), RESOURCE_SPECS[resource as Resource].versionField)!);
  }
  // The simulator serves a version once its second has passed, as Zendesk serves none of the last moments.
  while (Date.now() / 1000 < newestSecond + 1) await new Promise((r) => setTimeout(r, 50));
  await exportAll();
  noteServed();

  for (const resource of VERSIONED) {
    const kept = await db.query(`SELECT id::text || '@' || version AS key FROM zendesk_${resource}_versions WHERE account = $1`, [s.account]);
    const keys = kept.rows.map((r) => r.key as string);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual([...served[resource]!].sort());
    expect(keys.length).toBe(s.sim.expected(undefined, resource, { supportTypeScope: 'all' }).length + updated[resource].length);
  }
  // The versions carry the current table's typed columns; the current row is the newest version.
  const ticket3 = await db.query(`SELECT v.version::int, v.status, v.updated_at, v.version = t.version AS current FROM zendesk_tickets_versions v
    JOIN zendesk_tickets t USING (account, id) WHERE v.account = $1 AND v.id = 3 ORDER BY v.version`, [s.account]);
  const newest = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).find((t) => t.id === 3)!;
  expect(ticket3.rows).toHaveLength(2);
  expect(ticket3.rows.map((r) => r.current)).toEqual([false, true]);
  expect(ticket3.rows[1]).toMatchObject({ status: newest.status, updated_at: new Date(newest.updated_at as string) });
  // README's query over the versions, as written there.
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const query = /```sql\n(-- The statuses ticket 42 went through[\s\S]*?)```/.exec(readme)![1]!.replaceAll("'acme'", `'${s.account}'`).replace('id = 42', 'id = 3');
  expect((await db.query(query)).rows.map((r) => [Number(r.version), r.updated_at, r.status])).toEqual(ticket3.rows.map((r) => [r.version, r.updated_at, r.status]));

  // One metric set per ticket, its newest version, in typed columns.
  const metrics = await db.query(`SELECT ticket_id::int, reopens::int, replies::int, reply_time_calendar_minutes::int, reply_time_business_minutes::int,
    full_resolution_calendar_minutes::int, solved_at, updated_at FROM zendesk_ticket_metrics WHERE account = $1 ORDER BY ticket_id`, [s.account]);
  const tickets = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).sort((a, b) => (a.id as number) - (b.id as number));
  const minutes = (m: unknown, kind: 'calendar' | 'business') => ((m as Rec)[kind] as number | null);
  expect(metrics.rows).toEqual(
    tickets.map((t) => {
      const m = s.sim.expectedSideload(undefined, 'metric_sets', t.id as number)!;
      return {
        ticket_id: t.id, reopens: m.reopens, replies: m.replies,
        reply_time_calendar_minutes: minutes(m.reply_time_in_minutes, 'calendar'), reply_time_business_minutes: minutes(m.reply_time_in_minutes, 'business'),
        full_resolution_calendar_minutes: minutes(m.full_resolution_time_in_minutes, 'calendar'),
        solved_at: m.solved_at === null ? null : new Date(m.solved_at as string), updated_at: new Date(m.updated_at as string),
      };
    }),
  );
  expect(metrics.rows.some((r) => r.solved_at !== null) && metrics.rows.some((r) => r.solved_at === null)).toBe(true);
  expect((await db.query("SELECT name FROM zendesk_schema_migrations WHERE name LIKE 'history/%'")).rows).toEqual([{ name: 'history/001_versions.sql' }]);
});

test('the status follows the newest page only: a late retry of an older page changes neither the checkpoint nor the status', async () => {
  const { url, db } = await newDatabase('late_page');
  const destination = postgresDestination({ name: 'default', url });
  const owner = { workflowId: 'zendesk-export/acme/tickets/tickets_time', firstRunId: 'run-1' };
  const page = (pageNumber: number, endOfStream: boolean): PageWrite => {
    const at = startPosition('tickets_time', { kind: 'time', startTime: 1000 + pageNumber });
    return {
      account: 'acme', owner, exportId: owner.workflowId, resource: 'tickets', endpoint: 'tickets_time', origin: 'o1', pageNumber,
      records: [{ value: { id: pageNumber, updated_at: '2026-11-01T10:00:00Z' }, text: `{"id":${pageNumber},"updated_at":"2026-11-01T10:00:00Z"}` }],
      sideloads: {}, at, endOfStream,
      checkpoint: { at, pages: 1, records: 1, repeats: 0, sideloaded: 0, sentAt: [], notes: [], exportId: owner.workflowId, origin: 'o1', firstPage: pageNumber },
    };
  };
  const state = async () => (await db.query('SELECT c.page_number, s.status FROM zendesk_export_checkpoints c JOIN zendesk_export_states s USING (export_id)')).rows;
  try {
    await destination.writePage(page(1, false));
    await destination.writePage(page(2, true));
    expect(await state()).toEqual([{ page_number: 2, status: 'caught-up' }]);
    await destination.writePage(page(1, false)); // A retry of page 1 that arrives late: its records are written again, idempotently.
    expect(await state()).toEqual([{ page_number: 2, status: 'caught-up' }]);
    expect((await db.query('SELECT count(*)::int AS n FROM zendesk_tickets')).rows).toEqual([{ n: 2 }]);
  } finally {
    await destination.close();
  }
});
