/**
 * Records the histories the replay tests replay: every path the workflows take, run for real on a dev
 * server against the simulator. Run it only for a deliberate change of workflow code, with
 * `npm run record-histories`; `npm test` skips it (tests never rewrite tracked files).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { version } from '../../package.json';
import { saveHistory } from './history-files';
import { SIM_EMAIL, SIM_TOKEN, startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import type { ExportRequest } from '../../client/request';
import type { ExportState } from '../../workflows/types';
import type { SimulatorOptions } from '../../simulator';

/** This version's histories; those of earlier versions stay beside them while their runs may exist. */
const HISTORIES = path.join(__dirname, 'histories', version);
const recording = process.env.RECORD_HISTORIES === '1';
const shared = useExportServer();
const SIZES = { tickets: 60, users: 40, organizations: 30, ticket_events: 40 };

async function until<T = ExportState>(progress: () => Promise<T>, predicate: (s: T) => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await progress().catch(() => undefined);
    if (state && predicate(state)) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a scenario on its own stack, then saves every run of every workflow of its account. */
async function record(name: string, simulator: SimulatorOptions, scenario: (stack: ExportStack, request: (r: Partial<ExportRequest>) => ExportRequest) => Promise<unknown>, workerEnv: Record<string, string> = {}) {
  const stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', ...simulator }, workerEnv });
  const request = (r: Partial<ExportRequest>): ExportRequest => ({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out, ...r });
  try {
    await stack.run(() => scenario(stack, request));
    const dir = path.join(HISTORIES, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const query = `WorkflowId STARTS_WITH 'zendesk-export/${stack.account}/' OR WorkflowId = 'zendesk-account/${stack.account}'`;
    let n = 0;
    for await (const w of shared.env.client.workflow.list({ query })) {
      const history = await shared.env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      saveHistory(path.join(dir, `${w.type}-${String(++n).padStart(2, '0')}.json`), { workflowId: w.workflowId, type: w.type, status: w.status.name }, history);
    }
  } finally {
    await stack.close();
  }
}

(recording ? describe : describe.skip)('recording workflow histories', () => {
  test('plain export, paced into several runs', () =>
    record('plain', {}, async (stack, request) => (await stack.client.start(request({ perPage: 5, rateLimit: { requests: 2, seconds: 1 } }))).result()));

  test('a 429 waited out exactly', () =>
    record('rate-limited', { faults: { rateLimitNext: 1, retryAfterSeconds: 2 } }, async (stack, request) => (await stack.client.start(request({}))).result()));

  test('paused, then resumed', () =>
    record('pause-resume', { sizes: { ...SIZES, users: 300 }, faults: { latencyMs: 100 } }, async (stack, request) => {
      // Five requests a second: the export takes several batches, so the pause lands mid-export.
      const handle = await stack.client.start(request({ resource: 'users', perPage: 5, rateLimit: { requests: 5, seconds: 1 } }));
      await until(() => handle.progress(), (s) => s.progress.pages >= 1);
      await handle.pause();
      await until(() => handle.progress(), (s) => s.status === 'paused');
      await handle.resume();
      return handle.result();
    }));

  test('stuck on one second, switched to the cursor endpoint', () =>
    record('stuck-second', { sameSecond: 30, growPages: false }, async (stack, request) => (await stack.client.start(request({ resource: 'tickets', mode: 'time', perPage: 10 }))).result()));

  test('following across continue-as-new, then cancelled', () =>
    record('follow', {}, async (stack, request) => {
      const handle = await stack.client.start(request({ followIntervalSeconds: 1, perPage: 10, maxPagesPerRun: 3 }));
      await until(() => handle.progress(), (s) => s.status === 'following');
      stack.sim.addRecords(undefined, 'organizations', 25);
      await until(() => handle.progress(), (s) => s.progress.records >= SIZES.organizations + 25);
      await handle.cancel();
      return handle.result();
    }));

  test('following with its polls in one batch: paused while it rests, resumed, cancelled while it rests', () =>
    record('follow-batch', {}, async (stack, request) => {
      // 1000 a second: polls 12 s apart fit the share even when one leaves late, so they ride in one batch.
      const handle = await stack.client.start(request({ followIntervalSeconds: 12, rateLimit: { requests: 1000, seconds: 1 } }));
      const requests = () => stack.sim.stats().requests;
      await until(() => handle.progress(), (s) => s.status === 'following');
      const caughtUp = requests();
      stack.sim.addRecords(undefined, 'organizations', 2);
      await until(async () => requests(), (n) => n >= caughtUp + 2); // The batch's first request and a poll inside it.
      await handle.pause();
      await until(() => handle.progress(), (s) => s.progress.records >= SIZES.organizations + 2); // The batch reported at its next poll's time.
      await handle.resume();
      await until(() => handle.progress(), (s) => s.status === 'following');
      const resumed = requests();
      await until(async () => requests(), (n) => n > resumed); // The next batch rests.
      await handle.cancel();
      return handle.result().catch(() => undefined);
    }));

  test("a backfill's rounds in one batch, cut short when another export joins the account", () =>
    record('window-rounds', { rateLimits: { 'incremental-exports': { requests: 4, seconds: 10 } } }, async (stack, request) => {
      // 4 requests per 10 s: a window long enough to rest through, so the rounds of the next windows ride in one batch.
      const budget = { requests: 4, seconds: 10 };
      const tickets = await stack.client.start(request({ resource: 'tickets', mode: 'time', perPage: 5, rateLimit: budget }));
      await until(async () => stack.sim.stats().requests, (n) => n >= budget.requests); // The first round: the batch rests.
      const organizations = await stack.client.start(request({ perPage: 10, rateLimit: budget }));
      return Promise.all([tickets.result(), organizations.result()]);
    }));

  test('three exports sharing a budget of two: one queued, shares handed on', () =>
    record('coordinator', {}, async (stack, request) => {
      const budget = { requests: 2, seconds: 2 };
      const handles = await stack.client.startMany([request({ rateLimit: budget, perPage: 10 }), request({ resource: 'tickets', mode: 'time', rateLimit: budget, perPage: 20 }), request({ resource: 'ticket_events', rateLimit: budget, perPage: 20 })]);
      for (const h of handles) await h.result();
    }));

  test('cancelled mid-export', () =>
    record('cancelled', { faults: { latencyMs: 100 } }, async (stack, request) => {
      const handle = await stack.client.start(request({ perPage: 3 }));
      await until(() => handle.progress(), (s) => s.progress.pages >= 2);
      await handle.cancel();
      return handle.result();
    }));

  test('requests failing, backed off, then answered', () =>
    record('retried', { faults: { failNext: 3 } }, async (stack, request) => (await stack.client.start(request({}))).result()));

  test('refused credentials: failed at once', () =>
    record('failed', {}, async (stack, request) => (await stack.client.start(request({}))).result().catch(() => undefined), { ZENDESK_API_TOKEN: `not-${SIM_TOKEN}`, ZENDESK_EMAIL: SIM_EMAIL }));
});
