/**
 * `npm run chaos`: faults injected into running exports. Each scenario measures what happened (the
 * faults, whether the export was seen going on after each, the output compared with the simulator's
 * data, the secrets scan of its logs, files and histories), records those figures, and only then
 * asserts them. Fault points are random, drawn from CHAOS_SEED (printed in the report), so a failing
 * run can be replayed.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client as PgClient } from 'pg';
import type { ExportHandle } from '../../client/export-client';
import { RESOURCES, RESOURCE_SPECS } from '../../zendesk/endpoints';
import { versionSecond } from '../../zendesk/page';
import { runCli } from '../helpers/cli';
import { seededRandom } from '../../simulator';
import { startPostgres } from '../helpers/postgres';
import { scenario, type Figures } from './figures';
import { clean, sleep, startChaosStack, total, until, verify, type ChaosStack, type Check } from './harness';
import { scanForSecrets } from './leaks';
import { badInputScenario } from './bad-input';

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

/**
 * The end of every fault scenario: the output checked against the simulator, the secrets scan, and the
 * survivals counted (faults seen recovered from, when every export completed and its output is exact);
 * recorded into `figures`, then asserted.
 */
async function measureThenAssert(
  s: ChaosStack,
  figures: Figures,
  end: { recovered: number; completed: boolean; check: Check; texts?: string[]; secrets?: string[] },
): Promise<void> {
  const scan = await scanForSecrets(s, { texts: end.texts, secrets: end.secrets });
  Object.assign(figures, end.check, scan, { survived: end.completed && clean(end.check) ? end.recovered : 0 });
  expect(end.completed).toBe(true);
  expect({ ...end.check, secretsLeaked: scan.secretsLeaked }).toMatchObject({ duplicates: 0, losses: 0, secretsLeaked: 0 });
  expect(figures.survived).toBe(figures.faults);
}

/** Waits for each export to end; true when all completed. */
async function allCompleted(handles: readonly ExportHandle[]): Promise<boolean> {
  const outcomes = await Promise.all(handles.map((h) => h.result().then((r) => r.outcome, () => 'failed')));
  return outcomes.every((o) => o === 'completed');
}

/** Whether an export is backing off after a failed write (its state says so; no worker restart involved). */
async function retrying(handle: ExportHandle): Promise<boolean> {
  const state = await handle.progress().catch(() => undefined);
  return state?.status === 'retrying' || state?.retry !== undefined;
}

test(`the worker SIGKILLed at random points, ${KILLS} times in a row, during a time-based and a cursor export`, () =>
  scenario('worker SIGKILL at random points, in a row', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 10000, users: 4000 }, rateLimits: 'off', faults: { latencyMs: 10 } }));
    const handles = await s.client.startMany([
      { account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST },
      { account: s.account, resource: 'users', mode: 'cursor', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST },
    ]);
    const requests = () => s.sim.stats().requests;
    let done = false;
    const completed = allCompleted(handles).finally(() => (done = true));
    let recovered = 0;
    while (figures.faults < KILLS && !done) {
      await sleep(between(100, 2000));
      if (done) break;
      const atKill = requests();
      await s.restartWorker('SIGKILL');
      figures.faults++;
      await until(() => requests() > atKill || done, 120_000, 'the restarted worker to fetch');
      recovered++;
    }
    await measureThenAssert(s, figures, { recovered, completed: await completed, check: total([verify(s, 'tickets'), verify(s, 'users')]) });
  }));

test('the Temporal dev server SIGKILLed and restarted on its SQLite file, 3 times', () =>
  scenario('Temporal server SIGKILL + restart (same SQLite)', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 3000 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST });
    let recovered = 0;
    for (let i = 0; i < 3; i++) {
      await sleep(between(300, 1500));
      const atRestart = s.sim.stats().requests;
      await s.server.restart({ hard: true });
      figures.faults++;
      await until(() => s.sim.stats().requests > atRestart + 20, 180_000, 'progress after the restart');
      recovered++;
    }
    await measureThenAssert(s, figures, { recovered, completed: await allCompleted([handle]), check: verify(s, 'tickets') });
  }));

test('Zendesk answering bursts of 500/503, dropping connections, stalling past the request timeout and cutting JSON short, on all four resources', () =>
  scenario('Zendesk 500/503 bursts, drops, stalls, truncated JSON', async (figures) => {
    const s = (stack = await startChaosStack(
      { sizes: { tickets: 600, users: 400, organizations: 300, ticket_events: 800 }, rateLimits: 'off', seed: SEED, faults: { failRate: 0.15, dropRate: 0.05, malformedRate: 0.05, stallRate: 0.03, stallMs: 4000 } },
      { ZENDESK_REQUEST_TIMEOUT_SECONDS: '1' },
    ));
    const handles = await s.client.startMany(RESOURCES.map((resource) => ({ account: s.account, resource, startTime: 0, perPage: 20, destination: s.out, rateLimit: FAST })));
    const completed = await allCompleted(handles);
    const { failed, dropped, stalled, malformed } = s.sim.stats().faults;
    figures.faults = failed + dropped + stalled + malformed;
    // Every fault came before the end: an export that completed with the exact data went on after each.
    await measureThenAssert(s, figures, { recovered: figures.faults, completed, check: total(RESOURCES.map((r) => verify(s, r))) });
    expect(failed * dropped * stalled * malformed).toBeGreaterThan(0); // Every kind happened.
  }));

test('a storm of 429s with Retry-After 250 times the normal pace: each waited out in full, nothing skipped', () =>
  scenario('429 storm, Retry-After 5 s against a 20 ms pace', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 300 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
    s.sim.setFaults({ rateLimitNext: 6, retryAfterSeconds: 5 });
    figures.faults = 6;
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST });
    const result = await handle.result().catch(() => undefined);
    const waitedInFull = (result?.state.progress.rateLimited ?? 0) === 6 && (result?.state.progress.waitedMs ?? 0) >= 6 * 5000;
    await measureThenAssert(s, figures, { recovered: waitedInFull ? 6 : 0, completed: result?.outcome === 'completed', check: verify(s, 'tickets') });
  }));

test('records updated and added while the export runs: the newest version of each arrives', () =>
  scenario('records updated and added during the export', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 10 } }));
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: s.out, rateLimit: FAST, followIntervalSeconds: 1 });
    const ids = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).map((t) => Number(t.id));
    for (const stop = Date.now() + 5000; Date.now() < stop; figures.faults++) {
      if (figures.faults % 20 === 19) s.sim.addRecords(undefined, 'tickets', 2);
      else s.sim.updateRecord(undefined, 'tickets', ids[Math.floor(random() * ids.length)]!);
      await sleep(20);
    }
    const caughtUp = await until(() => verify(s, 'tickets').losses === 0, 120_000, 'the newest versions to arrive').then(() => true, () => false);
    await handle.cancel();
    const ended = await handle.result().catch(() => undefined);
    await measureThenAssert(s, figures, { recovered: caughtUp ? figures.faults : 0, completed: ended?.outcome === 'cancelled', check: verify(s, 'tickets') });
  }));

test('the output folder unwritable (a full disk) 3 times: the export holds at its page and goes on without a gap', () =>
  scenario('output folder unwritable, then writable again', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 20 } }));
    const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: s.out, rateLimit: FAST });
    const folder = path.join(s.out, s.account, 'tickets');
    let recovered = 0;
    for (let i = 0; i < 3; i++) {
      const seen = s.sim.stats().requests;
      await until(() => s.sim.stats().requests > seen + 10, 120_000, 'progress');
      renameSync(folder, `${folder}.away`);
      writeFileSync(folder, 'not a folder'); // Permission bits would not stop root.
      figures.faults++;
      await until(() => retrying(handle), 60_000, 'the write to fail');
      rmSync(folder);
      renameSync(`${folder}.away`, folder);
      const atRestore = s.sim.stats().requests;
      await until(async () => s.sim.stats().requests > atRestore || (await handle.describe()).temporalStatus !== 'RUNNING', 180_000, 'the export to go on');
      recovered++;
    }
    await measureThenAssert(s, figures, { recovered, completed: await allCompleted([handle]), check: verify(s, 'tickets') });
  }));

test('Postgres stopped as in a crash and started again, 3 times: the export waits and resumes, nothing skipped', async () => {
  const pg = await startPostgres();
  try {
    await scenario('Postgres crashed and restarted', async (figures) => {
      const s = (stack = await startChaosStack({ sizes: { tickets: 1500 }, rateLimits: 'off', faults: { latencyMs: 20 } }, { ZENDESK_EXPORT_POSTGRES: pg.url }));
      const handle = await s.client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: 'postgres', rateLimit: FAST });
      let recovered = 0;
      for (let i = 0; i < 3; i++) {
        const seen = s.sim.stats().requests;
        await until(() => s.sim.stats().requests > seen + 10, 120_000, 'progress');
        pg.down();
        figures.faults++;
        await until(() => retrying(handle), 60_000, 'the write to fail');
        pg.up();
        const atRestore = s.sim.stats().requests;
        await until(async () => s.sim.stats().requests > atRestore || (await handle.describe()).temporalStatus !== 'RUNNING', 180_000, 'the export to go on');
        recovered++;
      }
      const completed = await allCompleted([handle]);
      await measureThenAssert(s, figures, { recovered, completed, check: await checkPostgres(s, pg.url) });
    });
  } finally {
    await pg.stop();
  }
});

/** The tickets table against the simulator: one row per id, holding its newest version exactly. */
async function checkPostgres(s: ChaosStack, url: string): Promise<Check> {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string; version: string; record: Record<string, unknown> }>(
      'SELECT id::text AS id, version::text AS version, record FROM zendesk_tickets WHERE account = $1',
      [s.account],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const expected = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
    const { versionField } = RESOURCE_SPECS.tickets;
    const losses = expected.filter((t) => {
      const row = byId.get(String(t.id));
      return !row || Number(row.version) !== versionSecond(t, versionField) || !isDeepStrictEqual(row.record, t);
    }).length;
    // One row per id by the table's key; extra rows would be ids the account does not have.
    return { records: rows.length, duplicates: rows.length - byId.size + Math.max(0, byId.size - expected.length), losses };
  } finally {
    await db.end();
  }
}

test('two `start` commands for the same export at once, and a `resume` of the running export, 3 times', () =>
  scenario('two concurrent starts and a resume of a running export', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 400, users: 300, organizations: 200 }, rateLimits: 'off', faults: { latencyMs: 30 } }));
    const cli = (args: string[]) => runCli(args, s.cliEnv, { cwd: s.out });
    const checks: Check[] = [];
    const texts: string[] = [];
    let recovered = 0;
    let completed = true;
    for (const resource of ['tickets', 'users', 'organizations'] as const) {
      const args = ['start', resource, '--mode', 'time', '--start-time', '0', '--per-page', '10', '--out', s.out, '--rate-limit', '1000/1'];
      const both = await Promise.all([cli(args), cli(args)]);
      const resume = await cli(['resume', resource, '--mode', 'time']);
      figures.faults += 3;
      texts.push(...[...both, resume].flatMap((r) => [r.stdout, r.stderr]));
      const id = `zendesk-export/${s.account}/${resource}/${resource}${resource === 'organizations' ? '' : '_time'}`;
      completed = (await allCompleted([s.client.handle(id)])) && completed;
      let runs = 0;
      for await (const _ of s.client.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs++;
      // Each command answered, and together they made one export.
      if ([...both, resume].every((r) => r.code === 0) && runs === 1) recovered += 3;
      checks.push(verify(s, resource));
    }
    await measureThenAssert(s, figures, { recovered, completed, check: total(checks), texts });
  }));

test('bad input: one sentence, exit 2, nothing started', () =>
  scenario('bad input (CLI)', async (figures) => {
    const s = (stack = await startChaosStack({ sizes: { tickets: 10 }, rateLimits: 'off' }));
    await badInputScenario(s, figures);
  }));
