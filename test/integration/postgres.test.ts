/**
 * PostgreSQL as the destination, on a real server: complete and exactly once per resource, a second
 * export changes nothing, a worker SIGKILLed between the commit and the activity's completion loses
 * and doubles nothing, Postgres going down mid-export holds the export at its page until it is back,
 * and a record updated during a follow-mode export ends up as its newest version.
 */
import { Client as PgClient } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { simulatorEnv, startExportStack, type ExportStack } from '../helpers/exports';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { ExportClient } from '../../client/export-client';
import { startWorkerProcess } from '../../devserver/worker-process';
import { RESOURCES, RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { versionSecond } from '../../zendesk/page';

const SIZES = { tickets: 150, users: 90, organizations: 40, ticket_events: 160 };
const FAST = { requests: 1000, seconds: 1 };

let server: DevServer;
let env: TestWorkflowEnvironment;
let bundle: { code: string };
let pg: PostgresServer;
let db: PgClient;
let stack: ExportStack;

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
  await stack?.close();
});

async function rows(resource: Resource, account: string): Promise<{ id: string; version: string; record: Record<string, unknown> }[]> {
  return (await db.query(`SELECT id::text, version::text, record FROM zendesk_${resource} WHERE account = $1 ORDER BY id`, [account])).rows;
}

function expectMatches(found: { id: string; version: string; record: Record<string, unknown> }[], expected: Record<string, unknown>[], resource: Resource) {
  const { versionField } = RESOURCE_SPECS[resource];
  expect(found.map((r) => r.id).sort()).toEqual(expected.map((r) => String(r.id)).sort());
  const byId = new Map(found.map((r) => [r.id, r]));
  for (const record of expected) {
    const row = byId.get(String(record.id))!;
    expect(row.record).toEqual(record);
    expect(Number(row.version)).toBe(versionSecond(record, versionField));
  }
}

test('each resource exports into Postgres completely; a second export of the same range changes nothing', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  const requests = RESOURCES.map((resource) => ({ account: stack.account, resource, startTime: 0, perPage: 30, destination: pg.url, rateLimit: FAST }));
  await stack.run(async () => {
    for (const h of await stack.client.startMany(requests)) await h.result();
  });
  const before: Record<string, unknown> = {};
  for (const resource of RESOURCES) {
    const found = await rows(resource, stack.account);
    expectMatches(found, stack.sim.expected(undefined, resource, { supportTypeScope: 'all' }), resource);
    before[resource] = found;
  }
  const writtenAt = (await db.query('SELECT max(written_at) AS t FROM zendesk_tickets WHERE account = $1', [stack.account])).rows[0].t;
  await stack.run(async () => {
    for (const h of await stack.client.startMany(requests)) await h.result();
  });
  for (const resource of RESOURCES) expect(await rows(resource, stack.account)).toEqual(before[resource]);
  // Rows were rewritten with identical versions at most; none were added or lost.
  expect((await db.query('SELECT count(*)::int AS n FROM zendesk_tickets WHERE account = $1', [stack.account])).rows[0].n).toBe(
    (before.tickets as unknown[]).length,
  );
  expect(writtenAt).toBeTruthy();
  const checkpoint = await db.query("SELECT page_number FROM zendesk_export_checkpoints WHERE export_id LIKE $1", [`zendesk-export/${stack.account}/tickets/%`]);
  expect(checkpoint.rows[0].page_number).toBeGreaterThan(1);
});

test('a worker killed between the commit and the activity completion: no duplicates, no gaps', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  const taskQueue = `pg-crash-${stack.account}`;
  const start = (extra: Record<string, string> = {}) =>
    startWorkerProcess({ temporalAddress: server.address, taskQueue, env: { ...simulatorEnv(stack.sim), ...extra }, logLevel: 'ERROR' });
  const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
  const crashing = start({ ZENDESK_EXPORT_CRASH_AFTER_COMMIT_PAGE: '3' });
  const handle = await client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: pg.url, rateLimit: FAST });
  expect(await crashing.exited).toBe('SIGKILL');
  // Page 3 is in the database, but Temporal never heard it finish: it will be fetched and written again.
  const committed = await db.query('SELECT page_number FROM zendesk_export_checkpoints WHERE export_id = $1', [handle.workflowId]);
  expect(committed.rows[0].page_number).toBe(3);
  const healthy = start();
  try {
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
  } finally {
    await healthy.kill();
  }
  expectMatches(await rows('tickets', stack.account), stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }), 'tickets');
});

test('Postgres down mid-export: the export holds at its page, then goes on without a gap once it is back', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off', faults: { latencyMs: 20 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: pg.url, rateLimit: FAST });
    for (let s = await handle.progress(); s.progress.pages < 3; s = await handle.progress()) await new Promise((r) => setTimeout(r, 50));
    await db.end();
    pg.down();
    try {
      let retrying: string | undefined;
      while (!(retrying = (await handle.describe()).retrying)) await new Promise((r) => setTimeout(r, 100));
      expect(retrying).toMatch(/Postgres/i);
    } finally {
      pg.up();
      db = new PgClient({ connectionString: pg.url });
      await db.connect();
    }
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectMatches(await rows('tickets', stack.account), stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }), 'tickets');
});

test('a record updated during a follow-mode export ends up as its newest version', async () => {
  stack = await startExportStack(env, bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'users', startTime: 0, destination: pg.url, rateLimit: FAST, followIntervalSeconds: 1 });
    for (let s = await handle.progress(); s.status !== 'following'; s = await handle.progress()) await new Promise((r) => setTimeout(r, 100));
    const updated = stack.sim.updateRecord(undefined, 'users', 7);
    for (;;) {
      const row = (await db.query('SELECT record FROM zendesk_users WHERE account = $1 AND id = 7', [stack.account])).rows[0];
      if (row?.record.name === updated.name) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.cancel();
    await handle.result();
  });
  expectMatches(await rows('users', stack.account), stack.sim.expected(undefined, 'users'), 'users');
});
