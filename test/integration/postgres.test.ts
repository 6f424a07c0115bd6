/**
 * PostgreSQL as the destination, on a real server: complete and exactly once per resource, a second
 * export changes nothing, a worker SIGKILLed between the commit and the activity's completion loses
 * and doubles nothing, Postgres going down mid-export holds the export at its page until it is back,
 * a record updated during a follow-mode export ends up as its newest version, password authentication
 * keeps the password out of everything Temporal and the logs hold, and a record Postgres refuses ends
 * the export naming it. The comments and field changes derived from ticket events come out once each
 * through a worker killed between commit and completion and Postgres going down.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { innermostCause } from '../../common/cause';
import { Client as PgClient } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { simulatorEnv, startExportStack, type ExportStack } from '../helpers/exports';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { spawnGroup } from '../../devserver/process';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { ExportClient } from '../../client/export-client';
import type { Destination } from '../../activities/destinations';
import { coordinatorWorkflowId } from '../../workflows/ids';
import type { ExportState } from '../../workflows/types';
import { RESOURCES, RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { versionSecond } from '../../zendesk/page';

const SIZES = { tickets: 150, users: 90, organizations: 40, ticket_events: 160 };
const FAST = { requests: 1000, seconds: 1 };
const CRASHING_WORKER = path.resolve(__dirname, '..', 'helpers', 'crashing-worker.js');

let server: DevServer;
let env: TestWorkflowEnvironment;
let bundle: { code: string };
let pg: PostgresServer;
let db: PgClient;
let stack: ExportStack | undefined;
/** Worker processes a test started: killed after it, whatever happened. */
const children = new Set<{ kill(): Promise<unknown> }>();

beforeAll(async () => {
  [server, pg] = await Promise.all([startDevServer(), startPostgres()]);
  [env, bundle] = await Promise.all([createDevServerEnv(server), bundleWorkflows(WORKFLOWS_PATH)]);
  db = new PgClient({ connectionString: pg.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await env?.teardown();
  await server?.stop();
  await pg?.stop();
});
afterEach(async () => {
  await Promise.all([...children].map((c) => c.kill()));
  children.clear();
  await stack?.close();
  stack = undefined;
});

type Row = { id: string; version: string; record: Record<string, unknown> };

async function rows(resource: Resource, account: string, client = db): Promise<Row[]> {
  return (await client.query(`SELECT id::text, version::text, record FROM zendesk_${resource} WHERE account = $1 ORDER BY id`, [account])).rows;
}

function expectMatches(found: Row[], expected: Record<string, unknown>[], resource: Resource) {
  const { versionField } = RESOURCE_SPECS[resource];
  expect(found.map((r) => r.id).sort()).toEqual(expected.map((r) => String(r.id)).sort());
  const byId = new Map(found.map((r) => [r.id, r]));
  for (const record of expected) {
    const row = byId.get(String(record.id))!;
    expect(row.record).toEqual(record);
    expect(Number(row.version)).toBe(versionSecond(record, versionField));
  }
}

/** The custom fields table holds each ticket's current custom fields, each once. */
async function expectCustomFields(account: string, tickets: Record<string, unknown>[]) {
  const found = await db.query('SELECT ticket_id::int, field_id::float8, value_json FROM zendesk_ticket_custom_fields WHERE account = $1 ORDER BY ticket_id, field_id', [account]);
  const expected = tickets
    .flatMap((t) => (t.custom_fields as { id: number; value: unknown }[]).map((f) => ({ ticket_id: t.id, field_id: f.id, value_json: f.value })))
    .sort((a, b) => (a.ticket_id as number) - (b.ticket_id as number) || a.field_id - b.field_id);
  expect(found.rows).toEqual(expected);
}

async function checkpointPage(exportId: string): Promise<number> {
  return (await db.query('SELECT page_number FROM zendesk_export_checkpoints WHERE export_id = $1', [exportId])).rows[0]?.page_number ?? 0;
}

/** Polls `read` until `done` holds. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A worker process (the CLI from dist/) for this test, on its own task queue. */
function workerProcess(taskQueue: string, workerEnv: Record<string, string>, verbose = false): WorkerProcess {
  const worker = startWorkerProcess({ temporalAddress: server.address, taskQueue, env: workerEnv, logLevel: verbose ? 'INFO' : 'ERROR' });
  children.add({ kill: () => worker.kill('SIGKILL') });
  return worker;
}

/** test/helpers/crashing-worker.js: the real worker, dying right after committing `page`. */
function crashingWorker(taskQueue: string, workerEnv: Record<string, string>, page: number): Promise<NodeJS.Signals | null> {
  const child = spawnGroup(process.execPath, [CRASHING_WORKER], {
    env: { ...process.env, ...workerEnv, TEMPORAL_ADDRESS: server.address, ZENDESK_EXPORT_TASK_QUEUE: taskQueue, CRASH_AFTER_COMMIT_PAGE: String(page) },
  });
  children.add({ kill: () => child.stop({ signal: 'SIGKILL' }) });
  return child.exited.then(({ signal }) => signal);
}

test('each resource exports into Postgres completely; a second export of the same range changes nothing', async () => {
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' }, postgres: { default: pg.url } }));
  const requests = RESOURCES.map((resource) => ({ account: s.account, resource, startTime: 0, perPage: 30, destination: 'postgres', rateLimit: FAST }));
  await s.run(async () => {
    for (const h of await s.client.startMany(requests)) await h.result();
  });
  const before: Record<string, Row[]> = {};
  for (const resource of RESOURCES) {
    const found = await rows(resource, s.account);
    // Ticket events exported to Postgres carry their comments (comment_events by default).
    expectMatches(found, s.sim.expected(undefined, resource, { supportTypeScope: 'all', commentEvents: true }), resource);
    before[resource] = found;
  }
  await s.run(async () => {
    for (const h of await s.client.startMany(requests)) await h.result();
  });
  for (const resource of RESOURCES) expect(await rows(resource, s.account)).toEqual(before[resource]);
  // Rows were rewritten with identical versions at most; none were added or lost.
  expect((await db.query('SELECT count(*)::int AS n FROM zendesk_tickets WHERE account = $1', [s.account])).rows[0].n).toBe(before.tickets!.length);
  const checkpoint = await db.query('SELECT page_number, position FROM zendesk_export_checkpoints WHERE export_id LIKE $1', [`zendesk-export/${s.account}/tickets/%`]);
  expect(checkpoint.rows[0].page_number).toBeGreaterThan(1);
  expect(checkpoint.rows[0].position.endpoint).toBe('tickets_cursor');
});

test('a worker killed between the commit and the activity completion: no duplicates, no gaps, each version kept once', async () => {
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } }));
  const taskQueue = `pg-crash-${s.account}`;
  const workerEnv = simulatorEnv(s.sim, { ZENDESK_ACCOUNTS: s.account, ZENDESK_EXPORT_POSTGRES: pg.url, ZENDESK_EXPORT_HISTORY: 'default' });
  const crashed = crashingWorker(taskQueue, workerEnv, 3);
  const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
  const handle = await client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: 'postgres', rateLimit: FAST });
  expect(await crashed).toBe('SIGKILL');
  // Page 3 is in the database, but Temporal never heard it finish: it will be fetched and written again.
  expect(await checkpointPage(handle.workflowId)).toBe(3);
  expect((await handle.describe()).temporalStatus).toBe('RUNNING');
  workerProcess(taskQueue, workerEnv);
  const result = await handle.result();
  expect(result.outcome).toBe('completed');
  const tickets = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  expectMatches(await rows('tickets', s.account), tickets, 'tickets');
  await expectCustomFields(s.account, tickets);
  expect(await checkpointPage(handle.workflowId)).toBe(result.state.progress.pages);
  // Page 3's versions were written twice and are kept once (a second insert of one would refuse the page at every retry).
  const versions = await db.query(`SELECT id::text, version::text FROM zendesk_tickets_versions WHERE account = $1 ORDER BY id`, [s.account]);
  expect(versions.rows).toEqual((await rows('tickets', s.account)).map((r) => ({ id: r.id, version: r.version })));
});

test('Postgres down mid-export: the export holds at its page, then goes on without a gap once it is back', async () => {
  // 15 pages of 150 ms each: Postgres goes down mid-export.
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off', faults: { latencyMs: 150 } }, postgres: { default: pg.url } }));
  const result = await s.run(async () => {
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: 'postgres', rateLimit: FAST });
    await until(() => checkpointPage(handle.workflowId), (page) => page >= 3);
    expect((await handle.describe()).temporalStatus).toBe('RUNNING');
    await db.end();
    pg.down();
    try {
      const held = await until(() => handle.progress(), (state) => state.status === 'retrying');
      // Refused, or cut off mid-page: either way the message names the target, never its URL or host.
      expect(held.retry).toMatchObject({ type: 'DestinationError', message: expect.stringMatching(/Postgres target "default"/) });
      expect(held.retry!.message).not.toMatch(/postgres:\/\/|127\.0\.0\.1/);
    } finally {
      pg.up();
      db = new PgClient({ connectionString: pg.url });
      await db.connect();
    }
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectMatches(await rows('tickets', s.account), s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }), 'tickets');
});

/** The comments and status changes the tables derived from the account's ticket events hold, against the events the simulator served. */
async function expectDerivedFromEvents(account: string, sim: ExportStack['sim']) {
  type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const events: Rec[] = sim.expected(undefined, 'ticket_events', { supportTypeScope: 'all', commentEvents: true });
  const children = (type: string) => events.flatMap((e) => e.child_events.filter((c: Rec) => c.event_type === type).map((c: Rec) => ({ ...c, ticket_id: e.ticket_id })));
  const byId = (a: { id: string }, b: { id: string }) => Number(a.id) - Number(b.id);
  const comments = await db.query('SELECT id::text, ticket_id::text, author_id::text, body FROM zendesk_ticket_comments WHERE account = $1', [account]);
  expect(comments.rows.sort(byId)).toEqual(
    children('Comment').map((c) => ({ id: String(c.id), ticket_id: String(c.ticket_id), author_id: String(c.author_id), body: c.body })).sort(byId),
  );
  const statuses = await db.query("SELECT id::text, ticket_id::text, value, previous_value FROM zendesk_ticket_field_changes WHERE account = $1 AND field = 'status'", [account]);
  expect(statuses.rows.sort(byId)).toEqual(
    children('Change')
      .filter((c) => 'status' in c)
      .map((c) => ({ id: String(c.id), ticket_id: String(c.ticket_id), value: c.status, previous_value: c.previous_value ?? null }))
      .sort(byId),
  );
}

test('ticket events through both faults (a worker killed between commit and completion, then Postgres down): every comment and field change once', async () => {
  // 16 pages of 150 ms each: the worker dies after page 3, Postgres goes down after page 6.
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off', faults: { latencyMs: 150 } } }));
  const taskQueue = `pg-events-${s.account}`;
  const workerEnv = simulatorEnv(s.sim, { ZENDESK_ACCOUNTS: s.account, ZENDESK_EXPORT_POSTGRES: pg.url });
  const crashed = crashingWorker(taskQueue, workerEnv, 3);
  const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
  const handle = await client.start({ account: s.account, resource: 'ticket_events', startTime: 0, perPage: 10, destination: 'postgres', rateLimit: FAST });
  expect(await crashed).toBe('SIGKILL');
  expect(await checkpointPage(handle.workflowId)).toBe(3); // Committed, but Temporal never heard: written again.
  workerProcess(taskQueue, workerEnv);
  await until(() => checkpointPage(handle.workflowId), (page) => page >= 6);
  await db.end();
  pg.down();
  try {
    await until(() => handle.progress(), (state) => state.status === 'retrying');
  } finally {
    pg.up();
    db = new PgClient({ connectionString: pg.url });
    await db.connect();
  }
  expect((await handle.result()).outcome).toBe('completed');
  expectMatches(await rows('ticket_events', s.account), s.sim.expected(undefined, 'ticket_events', { supportTypeScope: 'all', commentEvents: true }), 'ticket_events');
  await expectDerivedFromEvents(s.account, s.sim);
});

test('a record updated during a follow-mode export ends up as its newest version', async () => {
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' }, postgres: { default: pg.url } }));
  await s.run(async () => {
    const handle = await s.client.start({ account: s.account, resource: 'users', startTime: 0, destination: 'postgres', rateLimit: FAST, followIntervalSeconds: 1 });
    await until(() => handle.progress(), (state) => state.status === 'following');
    const updated = s.sim.updateRecord(undefined, 'users', 7);
    await until(async () => (await db.query('SELECT record FROM zendesk_users WHERE account = $1 AND id = 7', [s.account])).rows[0]?.record, (record) => record?.name === updated.name);
    await handle.cancel();
    await handle.result();
  });
  expectMatches(await rows('users', s.account), s.sim.expected(undefined, 'users'), 'users');
});

test('password authentication: the password lives in the worker only, never in its logs, its errors or workflow histories', async () => {
  const password = `pw-${randomUUID()}`;
  const wrongPassword = `wrong-${randomUUID()}`;
  const secured = await startPostgres({ password });
  try {
    const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } }));
    const taskQueue = `pg-password-${s.account}`;
    // The target names the user and host only; the password reaches the worker in PGPASSWORD.
    const target = `postgres://${secured.user}@${secured.host}:${secured.port}/postgres`;
    const workerEnv = (pgPassword: string) => simulatorEnv(s.sim, { ZENDESK_ACCOUNTS: s.account, ZENDESK_EXPORT_POSTGRES: target, PGPASSWORD: pgPassword });
    const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });

    // First with a wrong password: the export says Postgres refused it, and waits.
    const refused = workerProcess(taskQueue, workerEnv(wrongPassword), true);
    const handle = await client.start({ account: s.account, resource: 'tickets', startTime: 0, perPage: 25, destination: 'postgres', rateLimit: FAST });
    const held = await until(() => handle.progress(), (state) => state.status === 'retrying');
    expect(held.retry?.message).toMatch(/rejected the credentials \(set PGPASSWORD for the worker\)/);
    await refused.kill('SIGTERM');

    const accepted = workerProcess(taskQueue, workerEnv(password), true);
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
    await accepted.kill('SIGTERM');

    const check = new PgClient({ host: secured.host, port: secured.port, user: secured.user, database: 'postgres', password });
    await check.connect();
    try {
      expectMatches(await rows('tickets', s.account, check), s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }), 'tickets');
    } finally {
      await check.end();
    }

    // History events serialise payload bytes as base64 `data`: decoded, a password in any payload shows as text.
    const decode = (key: string, value: unknown) => (key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value);
    const histories = await Promise.all([handle.workflowId, coordinatorWorkflowId(s.account)].map((id) => env.client.workflow.getHandle(id).fetchHistory()));
    const historyText = histories.map((h) => `${JSON.stringify(h)}\n${JSON.stringify(h, decode)}`).join('\n');
    // What was scanned holds what it should: the logs, and the refusal inside the activity results' payloads.
    expect(refused.output()).toMatch(/Worker polling/);
    expect(historyText).toContain('rejected the credentials');
    const everything = [refused.output(), accepted.output(), JSON.stringify(held), JSON.stringify(result), JSON.stringify(await handle.describe()), historyText].join('\n');
    for (const secret of [password, wrongPassword]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
      expect(everything).not.toContain(encodeURIComponent(secret));
    }
  } finally {
    await secured.stop();
  }
});

test('a record Postgres refuses ends the export with a DestinationRecordError naming it, at once', async () => {
  let bad: unknown;
  const attempts: number[] = [];
  const passed: number[] = [];
  // Postgres cannot store a NUL character in jsonb: give a record of page 5 such a field, as Zendesk could.
  const wrapDestination = (destination: Destination): Destination => ({
    ...destination,
    async writePage(page) {
      if (page.pageNumber !== 5) {
        await destination.writePage(page);
        passed.push(...page.records.map((r) => r.value.id as number));
        return;
      }
      attempts.push(page.pageNumber);
      bad ??= page.records[1]!.value.id;
      const records = page.records.map((r) => (r.value.id === bad ? { value: { ...r.value, note: '\u0000' }, text: `{"note":"\\u0000",${r.text.slice(1)}` } : r));
      await destination.writePage({ ...page, records });
    },
  });
  const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' }, postgres: { default: pg.url }, activities: { wrapDestination } }));
  const failure = await s.run(async () => {
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: 'postgres', rateLimit: FAST });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, described: await handle.describe() };
  });
  expect(innermostCause(failure.err)).toMatchObject({ type: 'DestinationRecordError', message: expect.stringMatching(new RegExp(`cannot store tickets record ${String(bad)} .*stopped at page 5`)) });
  expect(failure.described.temporalStatus).toBe('FAILED');
  expect((failure.described.state as ExportState).error).toMatch(new RegExp(`record ${String(bad)}`));
  expect(attempts).toEqual([5]); // Not retried: the same record would be refused again.
  // The pages before it are in; nothing of its page is.
  const stored = (await rows('tickets', s.account)).map((r) => Number(r.id));
  expect(stored.sort((a, b) => a - b)).toEqual(passed.sort((a, b) => a - b));
  expect(stored).not.toContain(bad);
  expect(passed.length).toBeGreaterThanOrEqual(40);
});
