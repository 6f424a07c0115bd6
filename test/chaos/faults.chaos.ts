/**
 * `npm run chaos`: faults injected into running exports, each scenario ending with the output compared
 * with the simulator's data (nothing lost, nothing written twice) and its figures reported. Fault points
 * are random, drawn from CHAOS_SEED (printed in the report), so a failing run can be replayed.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client as PgClient } from 'pg';
import { RESOURCES, RESOURCE_SPECS } from '../../zendesk/endpoints';
import { versionSecond } from '../../zendesk/page';
import { badInputs, runCli } from '../helpers/cli';
import { simulatorEnv } from '../helpers/exports';
import { seededRandom } from '../../simulator';
import { startPostgres } from '../helpers/postgres';
import { leakedSecrets, report, sleep, startChaosStack, until, verify, type ChaosStack, type Check } from './harness';

const SEED = Number(process.env.CHAOS_SEED ?? 1);
const random = seededRandom(SEED);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
const FAST = { requests: 1000, seconds: 1 };
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);

let stack: ChaosStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function total(checks: Check[]): Check {
  return checks.reduce((a, c) => ({ records: a.records + c.records, duplicates: a.duplicates + c.duplicates, losses: a.losses + c.losses }), { records: 0, duplicates: 0, losses: 0 });
}

/** The end of every fault scenario: nothing lost, nothing twice, no token in the logs; then its figures. */
function expectSurvived(s: ChaosStack, scenario: string, faults: number, check: Check): void {
  const output = s.workerOutput();
  expect({ ...check, secretsLeaked: leakedSecrets(output) }).toMatchObject({ duplicates: 0, losses: 0, secretsLeaked: 0 });
  report({ scenario, faults, survived: faults, ...check, logLines: output.split('\n').filter(Boolean).length, secretsLeaked: 0 });
}

test(`the worker SIGKILLed at random points, ${KILLS} times in a row, during a time-based and a cursor export`, async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 10000, users: 4000 }, rateLimits: 'off', faults: { latencyMs: 10 } }));
  const handles = await s.client.startMany([
    { account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST },
    { account: s.account, resource: 'users', mode: 'cursor', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST },
  ]);
  const requests = () => s.sim.stats().requests;
  let kills = 0;
  const results = Promise.all(handles.map((h) => h.result()));
  let done = false;
  void results.finally(() => (done = true));
  while (kills < KILLS && !done) {
    const seen = requests();
    await until(() => requests() > seen || done, 120_000, 'the restarted worker to fetch');
    await sleep(between(100, 2000));
    if (done) break;
    await s.restartWorker('SIGKILL');
    kills++;
  }
  const outcomes = await results;
  expect(outcomes.map((r) => r.outcome)).toEqual(['completed', 'completed']);
  const check = total([verify(s, 'tickets'), verify(s, 'users')]);
  expectSurvived(s, 'worker SIGKILL at random points, in a row', kills, check);
});

test('the Temporal dev server SIGKILLed and restarted on its SQLite file, 3 times', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 3000 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
  const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST });
  let restarts = 0;
  for (; restarts < 3; restarts++) {
    const seen = s.sim.stats().requests;
    await until(() => s.sim.stats().requests > seen + 20, 180_000, 'progress after the restart');
    await sleep(between(0, 1000));
    await s.server.restart({ hard: true });
  }
  const result = await handle.result();
  expect(result.outcome).toBe('completed');
  const check = verify(s, 'tickets');
  expectSurvived(s, 'Temporal server SIGKILL + restart (same SQLite)', restarts, check);
});

test('Zendesk answering bursts of 500/503, dropping connections, stalling past the request timeout and cutting JSON short, on all four resources', async () => {
  const s = (stack = await startChaosStack(
    { sizes: { tickets: 600, users: 400, organizations: 300, ticket_events: 800 }, rateLimits: 'off', seed: SEED, faults: { failRate: 0.15, dropRate: 0.05, malformedRate: 0.05, stallRate: 0.03, stallMs: 4000 } },
    { ZENDESK_REQUEST_TIMEOUT_SECONDS: '1' },
  ));
  const handles = await s.client.startMany(RESOURCES.map((resource) => ({ account: s.account, resource, startTime: 0, perPage: 20, destination: s.out, rateLimit: FAST })));
  const outcomes = await Promise.all(handles.map((h) => h.result()));
  expect(outcomes.every((r) => r.outcome === 'completed')).toBe(true);
  const { failed, dropped, stalled, malformed } = s.sim.stats().faults;
  expect(failed * dropped * stalled * malformed).toBeGreaterThan(0); // Every kind happened.
  const check = total(RESOURCES.map((r) => verify(s, r)));
  expectSurvived(s, 'Zendesk 500/503 bursts, drops, stalls, truncated JSON', failed + dropped + stalled + malformed, check);
});

test('a storm of 429s with Retry-After 250 times the normal pace: each waited out in full, nothing skipped', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 300 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
  s.sim.setFaults({ rateLimitNext: 6, retryAfterSeconds: 5 });
  const result = await (await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST })).result();
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.rateLimited).toBe(6);
  expect(result.state.progress.waitedMs).toBeGreaterThanOrEqual(6 * 5000);
  const check = verify(s, 'tickets');
  expectSurvived(s, '429 storm, Retry-After 5 s against a 20 ms pace', 6, check);
});

test('records updated and added while the export runs: the newest version of each arrives', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 10 } }));
  const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: s.out, rateLimit: FAST, followIntervalSeconds: 1 });
  const ids = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).map((t) => Number(t.id));
  let changes = 0;
  for (const until = Date.now() + 5000; Date.now() < until; changes++) {
    if (changes % 20 === 19) s.sim.addRecords(undefined, 'tickets', 2);
    else s.sim.updateRecord(undefined, 'tickets', ids[Math.floor(random() * ids.length)]!);
    await sleep(20);
  }
  await until(() => verify(s, 'tickets').losses === 0, 120_000, 'the newest versions to arrive');
  await handle.cancel();
  await handle.result();
  const check = verify(s, 'tickets');
  expectSurvived(s, 'records updated and added during the export', changes, check);
});

test('the output folder unwritable (a full disk) 3 times: the export holds at its page and goes on without a gap', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
  const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST });
  const folder = path.join(s.out, s.account, 'tickets');
  let held = 0;
  for (let i = 0; i < 3; i++) {
    const seen = s.sim.stats().requests;
    await until(() => s.sim.stats().requests > seen + 10, 120_000, 'progress');
    renameSync(folder, `${folder}.away`);
    writeFileSync(folder, 'not a folder'); // Permission bits would not stop root.
    await until(async () => Boolean((await handle.describe()).retrying), 60_000, 'the write to fail');
    held++;
    rmSync(folder);
    renameSync(`${folder}.away`, folder);
  }
  const result = await handle.result();
  expect(result.outcome).toBe('completed');
  const check = verify(s, 'tickets');
  expectSurvived(s, 'output folder unwritable, then writable again', held, check);
});

test('Postgres stopped as in a crash and started again, 3 times: the export waits and resumes, nothing skipped', async () => {
  const pg = await startPostgres();
  const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
  try {
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: pg.url, rateLimit: FAST });
    let restarts = 0;
    for (; restarts < 3; restarts++) {
      const seen = s.sim.stats().requests;
      await until(() => s.sim.stats().requests > seen + 10, 120_000, 'progress');
      pg.down();
      await until(async () => Boolean((await handle.describe()).retrying), 60_000, 'the write to fail');
      pg.up();
    }
    expect((await handle.result()).outcome).toBe('completed');
    const db = new PgClient({ connectionString: pg.url });
    await db.connect();
    const rows = (await db.query('SELECT id::text AS id, version::text AS version, record FROM zendesk_tickets WHERE account = $1', [s.account])).rows as {
      id: string;
      version: string;
      record: Record<string, unknown>;
    }[];
    await db.end();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const expected = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
    const { versionField } = RESOURCE_SPECS.tickets;
    const losses = expected.filter((t) => {
      const row = byId.get(String(t.id));
      return !row || Number(row.version) !== versionSecond(t, versionField) || !isDeepStrictEqual(row.record, t);
    }).length;
    // One row per id by the table's key; extra rows would be ids the account does not have.
    const check = { records: rows.length, duplicates: rows.length - byId.size + Math.max(0, byId.size - expected.length), losses };
    expectSurvived(s, 'Postgres crashed and restarted', restarts, check);
  } finally {
    await pg.stop();
  }
});

test('two `start` commands for the same export at once, and a `resume` of the running export, 3 times', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 400, users: 300, organizations: 200 }, rateLimits: 'off', faults: { latencyMs: 30 } }));
  const env = { ...simulatorEnv(s.sim), TEMPORAL_ADDRESS: s.server.address, ZENDESK_SUBDOMAIN: s.account, ZENDESK_EXPORT_TASK_QUEUE: s.taskQueue };
  const resources = ['tickets', 'users', 'organizations'] as const;
  const checks: Check[] = [];
  for (const resource of resources) {
    const args = ['start', resource, '--mode', 'time', '--start-time', '0', '--per-page', '10', '--out', s.out, '--rate-limit', '1000/1'];
    const both = await Promise.all([runCli(args, env), runCli(args, env)]);
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const resume = await runCli(['resume', resource, '--mode', 'time'], env);
    expect(resume.code).toBe(0);
    const id = `zendesk-export/${s.account}/${resource}/${resource}${resource === 'organizations' ? '' : '_time'}`;
    await s.client.handle(id).result();
    let runs = 0;
    for await (const _ of s.client.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs++;
    expect(runs).toBe(1);
    checks.push(verify(s, resource));
  }
  const check = total(checks);
  expectSurvived(s, 'two concurrent starts and a resume of a running export', 3 * 3, check);
});

test('bad input: one sentence, exit 2, nothing started', async () => {
  const s = (stack = await startChaosStack({ sizes: { tickets: 10 }, rateLimits: 'off' }));
  const env = { ...simulatorEnv(s.sim), TEMPORAL_ADDRESS: s.server.address, ZENDESK_SUBDOMAIN: s.account, ZENDESK_EXPORT_TASK_QUEUE: s.taskQueue };
  const more: [string[], Record<string, string>][] = [
    [['run', 'tickets', '--start-time', '0'], { ZENDESK_API_TOKEN: 'wrong-secret-token' }],
    [['run', 'tickets', '--start-time', '0'], { ZENDESK_BASE_URL: 'http://127.0.0.1:9' }],
    [['list'], { TEMPORAL_ADDRESS: '127.0.0.1:9' }],
    [['run', 'tickets', '--start-time', '0', '--out', '/proc/version/export'], {}],
    [['run', 'tickets', '--start-time', '0', '--dest', 'postgres://u:secret@127.0.0.1/db'], {}],
  ];
  const cases = [...badInputs().map(([args]) => [args, {}] as [string[], Record<string, string>]), ...more];
  let refused = 0;
  for (const [args, extra] of cases) {
    const r = await runCli(args, { ...env, ...extra });
    expect({ args, code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ args, code: 2, lines: 1 });
    expect(r.stdout + r.stderr).not.toMatch(/wrong-secret-token|\n\s+at /);
    refused++;
  }
  expect(s.sim.stats().requests).toBe(0);
  let started = 0;
  for await (const _ of s.client.client.workflow.list()) started++;
  expect(started).toBe(0);
  report({ scenario: 'bad input (CLI)', faults: 0, survived: 0, records: 0, duplicates: 0, losses: 0, badInputs: refused });
});
