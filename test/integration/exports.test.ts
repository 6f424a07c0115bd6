/**
 * Exports end to end on a real Temporal dev server: real workflows, real activities, real HTTP to the
 * simulator, NDJSON written to a temp folder and compared with the simulator's own data.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { SIM_EMAIL, SIM_TOKEN, startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { duplicates, newestById, readRecords, readSideload, versionKeys } from '../helpers/output';
import { ENDPOINTS, RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { exportWorkflowId } from '../../workflows/ids';
import type { ExportRequest } from '../../client/request';
import type { ExportState } from '../../workflows/types';

let stack: ExportStack;

const FAST = { requests: 1000, seconds: 1 };
const SIZES = { tickets: 180, users: 150, organizations: 70, ticket_events: 200 };

const shared = useExportServer();
afterEach(async () => {
  await stack?.close();
});

function request(resource: Resource, extra: Partial<ExportRequest> = {}): ExportRequest {
  return { account: stack.account, resource, startTime: 0, destination: stack.out, rateLimit: FAST, ...extra };
}

function expectExactlyOnce(resource: Resource, expected: Record<string, unknown>[], out = path.join(stack.out, stack.account)) {
  const { versionField } = RESOURCE_SPECS[resource];
  const written = readRecords(out, resource);
  expect(duplicates(versionKeys(written, versionField))).toEqual([]);
  const newest = newestById(written, versionField);
  expect([...newest.keys()].sort()).toEqual(expected.map((r) => String(r.id)).sort());
  for (const record of expected) expect(newest.get(String(record.id))).toEqual(record);
}

describe('each of the seven endpoints exports a seeded account completely and exactly once', () => {
  // Time-based pages: Zendesk's recorded page chains answer end_time = last second + 1 (no repeats);
  // a documented final page answered its last second, which the next page repeats. Both, exactly once.
  const cases = ENDPOINTS.flatMap((e) =>
    e.resources.flatMap((resource) =>
      (e.paging === 'time' ? (['next-second', 'same-second'] as const) : (['next-second'] as const)).map((timeBoundary) => ({ endpoint: e.id, resource, paging: e.paging, timeBoundary })),
    ),
  );
  test.each(cases)('$endpoint ($resource), end_time at $timeBoundary', async ({ endpoint, resource, paging, timeBoundary }) => {
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', timeBoundary } });
    const sample = endpoint === 'sample';
    const result = await stack.run(async () => {
      const handle = await stack.client.start(
        request(resource, { sample, maxPages: sample ? 100 : undefined, mode: sample ? undefined : paging, perPage: sample ? undefined : 25, rateLimit: FAST }),
      );
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expectExactlyOnce(resource, stack.sim.expected(undefined, resource, { supportTypeScope: 'all' }));
    // Overlapping pages repeat their boundary second, and the repeats are dropped, never written.
    if (paging === 'time' && timeBoundary === 'same-second') expect(result.state.progress.repeats).toBeGreaterThan(0);
    else expect(result.state.progress.repeats).toBe(0);
    expect(stack.sim.stats().requests).toBe(result.state.progress.pages);
  });
});

describe('more records share one second than a page holds (a bulk update), on every time-based endpoint', () => {
  // Zendesk grows the page to hold the whole second and answers end_time + 1, or that second itself
  // (the grown page proves it complete, so the export moves on), or cuts the page (the stuck variant).
  const variants = [
    { name: 'grown, end_time + 1', simulator: { timeBoundary: 'next-second' as const } },
    { name: 'grown, end_time = that second', simulator: { timeBoundary: 'same-second' as const } },
    { name: 'cut at per_page', simulator: { growPages: false } },
  ];
  const cases = ENDPOINTS.filter((e) => e.paging === 'time').flatMap((e) =>
    e.resources.flatMap((resource) => variants.map((v) => ({ endpoint: e.id, resource, variant: v.name, simulator: v.simulator }))),
  );
  test.each(cases)('$endpoint ($resource), $variant', async ({ endpoint, resource, variant, simulator }) => {
    const sample = endpoint === 'sample';
    // 60 records of one second: more than a page of 25 (or the sample's 50).
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', sameSecond: 60, ...simulator } });
    const run = stack.run(async () =>
      (await stack.client.start(request(resource, { sample, maxPages: sample ? 100 : undefined, mode: sample ? undefined : 'time', perPage: sample ? undefined : 25 }))).result(),
    );
    if (sample && variant === 'cut at per_page') {
      // The sample endpoint has no cursor twin and takes no page size: it stops rather than skip records.
      await expect(run).rejects.toMatchObject({ cause: expect.objectContaining({ message: expect.stringMatching(/share second \d+ .* rather than skip records/) }) });
      return;
    }
    const result = await run;
    expect(result.outcome).toBe('completed');
    expectExactlyOnce(resource, stack.sim.expected(undefined, resource, { supportTypeScope: 'all' }));
    if (variant !== 'cut at per_page') expect(result.state.at.endpoint).toBe(endpoint); // No escape was needed.
  });
});

test('sideloads, exclude_deleted and per_page reach Zendesk and the output', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  await stack.run(async () => {
    const [tickets, events] = await stack.client.startMany([
      request('tickets', { include: ['users', 'groups'], excludeDeleted: true, perPage: 40 }),
      request('ticket_events', { include: ['comment_events'] }),
    ]);
    return Promise.all([tickets!.result(), events!.result()]);
  });
  const expected = stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all', excludeDeleted: true });
  expectExactlyOnce('tickets', expected);
  expect(readRecords(path.join(stack.out, stack.account), 'tickets').some((t) => t.status === 'deleted')).toBe(false);
  expect(readSideload(path.join(stack.out, stack.account), 'tickets', 'users').length).toBeGreaterThan(0);
  expect(readSideload(path.join(stack.out, stack.account), 'tickets', 'groups').length).toBeGreaterThan(0);
  const comments = readRecords(path.join(stack.out, stack.account), 'ticket_events').flatMap((e) => (e.child_events as { event_type?: string }[]) ?? []);
  expect(comments.some((c) => c.event_type === 'Comment')).toBe(true);
  expect(stack.sim.stats().requestsByEndpoint.tickets_cursor).toBe(Math.ceil(expected.length / 40) + (expected.length % 40 === 0 ? 1 : 0));
});

test('support_type_scope defaults to all: tickets handled by AI agents are not left out', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  await stack.run(async () => (await stack.client.start(request('tickets'))).result());
  const all = stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  const agentOnly = stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'agent' });
  expect(all.length).toBeGreaterThan(agentOnly.length);
  expectExactlyOnce('tickets', all);
});

test('pause holds the export and resume finishes it; continue-as-new every 3 pages carries the state', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', faults: { latencyMs: 100 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start(request('users', { perPage: 10, maxPagesPerRun: 3 }));
    // A batch may be in flight: the pause lets it finish its page, then holds.
    await handle.pause();
    const paused = await waitFor(handle, (s) => s.status === 'paused');
    const pagesAtPause = paused.progress.pages;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await handle.progress()).progress.pages).toBe(pagesAtPause);
    await handle.resume();
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectExactlyOnce('users', stack.sim.expected(undefined, 'users'));
  // Several runs: the export continued as new and lost nothing on the way.
  const runs = [];
  for await (const w of shared.env.client.workflow.list({ query: `WorkflowId = '${exportWorkflowId(stack.account, 'users', 'users_cursor')}'` })) runs.push(w);
  expect(runs.length).toBeGreaterThan(3);
});

test('cancel mid-export, then resume: nothing lost, nothing written twice', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', faults: { latencyMs: 150 } } });
  const id = exportWorkflowId(stack.account, 'tickets', 'tickets_time');
  const cancelled = await stack.run(async () => {
    // Five requests a second: the export takes several batches, so the cancel lands mid-export.
    const handle = await stack.client.start(request('tickets', { mode: 'time', perPage: 4, rateLimit: { requests: 5, seconds: 1 } }));
    await waitFor(handle, (s) => s.progress.pages >= 3);
    await handle.cancel();
    return handle.result();
  });
  expect(cancelled.outcome).toBe('cancelled');
  expect(cancelled.state.at.next.startTime).toBeGreaterThan(0);
  const result = await stack.run(async () => (await stack.client.resumeStopped(id)).result());
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.pages).toBeGreaterThan(cancelled.state.progress.pages);
  expectExactlyOnce('tickets', stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('two accounts exporting into one destination at once keep apart: each complete, exactly once', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', seed: 1 } });
  const other = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', seed: 2 }, outputRoot: stack.out });
  try {
    const both = { mode: 'time' as const, perPage: 10, destination: stack.out };
    await stack.run(() =>
      other.run(async () => {
        const handles = [await stack.client.start(request('tickets', both)), await other.client.start({ ...request('tickets', both), account: other.account })];
        return Promise.all(handles.map((h) => h.result()));
      }),
    );
    expectExactlyOnce('tickets', stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
    expectExactlyOnce('tickets', other.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }), path.join(stack.out, other.account));
  } finally {
    await other.close();
  }
});

test('exports started from saved cursors into one folder never overwrite each other: files are named by export start', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  let result = await stack.run(async () => (await stack.client.start(request('tickets', { perPage: 50 }))).result());
  // Two more starts, each from the cursor the one before saved, each finding new and changed tickets.
  for (let i = 0; i < 2; i++) {
    const cursor = result.state.at.next.kind === 'cursor' ? result.state.at.next.cursor : null;
    expect(cursor).toBeTruthy();
    stack.sim.addRecords(undefined, 'tickets', 30);
    stack.sim.updateRecord(undefined, 'tickets', 5 + i);
    // Like Zendesk, which serves a change only after its minute has passed, the simulator (its recent
    // window set to 0 s here) serves it once its second has passed: start the next export after that.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 1));
    result = await stack.run(async () => (await stack.client.start(request('tickets', { cursor: cursor!, startTime: undefined, perPage: 50 }))).result());
  }
  const files = readdirSync(path.join(stack.out, stack.account, 'tickets')).filter((f) => f.endsWith('.ndjson'));
  expect(new Set(files.map((f) => f.replace(/-\d{8}\.ndjson$/, ''))).size).toBe(3); // Three exports, three names.
  expect([...files].sort()).toEqual(files.sort()); // Name order is export order.
  expectExactlyOnce('tickets', stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('follow mode exports records that appear after end_of_stream', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  await stack.run(async () => {
    const handle = await stack.client.start(request('organizations', { followIntervalSeconds: 1 }));
    await waitFor(handle, (s) => s.status === 'following');
    stack.sim.updateRecord(undefined, 'organizations', 3);
    stack.sim.addRecords(undefined, 'organizations', 2);
    await waitFor(handle, (s) => s.progress.records >= SIZES.organizations + 3);
    await handle.cancel();
    return handle.result();
  });
  expectExactlyOnce('organizations', stack.sim.expected(undefined, 'organizations'));
});

test('a time-based export stuck on one second switches to the cursor endpoint and loses nothing', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, sameSecond: 60, growPages: false, rateLimits: 'off' } });
  const result = await stack.run(async () => (await stack.client.start(request('tickets', { mode: 'time', perPage: 20 }))).result());
  expect(result.state.at.endpoint).toBe('tickets_cursor');
  expect(result.state.notes.join(' ')).toMatch(/switched from tickets_time to tickets_cursor/);
  expectExactlyOnce('tickets', stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('a stuck time-only endpoint grows its page, and stops clearly when it cannot', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, sameSecond: 60, growPages: false, rateLimits: 'off' } });
  const grown = await stack.run(async () => (await stack.client.start(request('organizations', { perPage: 20 }))).result());
  expect(grown.state.at.perPage).toBeGreaterThanOrEqual(80);
  expectExactlyOnce('organizations', stack.sim.expected(undefined, 'organizations'));

  await stack.close();
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { ...SIZES, organizations: 1200 }, sameSecond: 1100, growPages: false, rateLimits: 'off' } });
  await expect(stack.run(async () => (await stack.client.start(request('organizations'))).result())).rejects.toMatchObject({
    cause: expect.objectContaining({ message: expect.stringMatching(/share second \d+ .* rather than skip records/) }),
  });
});

test('1100 ticket events share one second (a bulk update): the grown page moves the export on, whatever end_time says', async () => {
  for (const timeBoundary of ['same-second', 'next-second'] as const) {
    stack = await startExportStack(shared.env, shared.bundle, {
      simulator: { sizes: { ...SIZES, ticket_events: 1500 }, sameSecond: 1100, timeBoundary, rateLimits: 'off' },
    });
    const result = await stack.run(async () => (await stack.client.start(request('ticket_events'))).result());
    expect(result.outcome).toBe('completed');
    expectExactlyOnce('ticket_events', stack.sim.expected(undefined, 'ticket_events', { supportTypeScope: 'all' }));
    await stack.close();
  }
});

test("another app spent the account's budget: Zendesk's empty bucket holds the export until it resets, no 429", async () => {
  const budget = { requests: 10, seconds: 10 };
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 60 }, rateLimits: { 'incremental-exports': budget } } });
  const auth = { username: `${SIM_EMAIL}/token`, password: SIM_TOKEN };
  for (let i = 0; i < 8; i++) await axios.get(`${stack.sim.url}/api/v2/incremental/tickets.json?start_time=0&per_page=1`, { auth });
  const result = await stack.run(async () => (await stack.client.start(request('tickets', { mode: 'time', perPage: 10, rateLimit: budget }))).result());
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.pages).toBeGreaterThan(2);
  expect(stack.sim.stats().statuses[429] ?? 0).toBe(0);
  expect(stack.sim.stats().peakInWindow['incremental-exports']).toBeLessThanOrEqual(10);
  expectExactlyOnce('tickets', stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('a 422 "Too recent start_time" is caught up, not a failure', async () => {
  // A window wider than the epoch: every start_time is "too recent" for this simulator.
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off', recentWindowSeconds: 2_000_000_000 } });
  const result = await stack.run(async () => (await stack.client.start(request('organizations'))).result());
  expect(result.outcome).toBe('completed');
  expect(result.state.progress.records).toBe(0);
});

test('a bad token fails the export at once, naming the account and never the token', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' }, workerEnv: { ZENDESK_API_TOKEN: 'wrong-token' } });
  const error = await stack.run(async () => (await stack.client.start(request('users'))).result().catch((e: Error) => e));
  const text = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String((error as Error).cause);
  expect(text).toContain(stack.account);
  expect(text).toMatch(/rejected the credentials/);
  expect(text).not.toContain('wrong-token');
  expect(stack.sim.stats().requestsByEndpoint.users_cursor).toBe(1); // Not retried.
});

test('workflow histories hold neither the token nor any record body', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: SIZES, rateLimits: 'off' } });
  await stack.run(async () => {
    const handles = await stack.client.startMany((['tickets', 'users'] as const).map((r) => request(r, { perPage: 50 })));
    return Promise.all(handles.map((h) => h.result()));
  });
  const tickets = stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  const bodies = [...tickets.slice(0, 20).map((t) => String(t.subject)), ...tickets.slice(0, 20).map((t) => String(t.description))];
  for await (const w of shared.env.client.workflow.list({ query: `WorkflowId STARTS_WITH 'zendesk-'` })) {
    const history = JSON.stringify(await shared.env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
    const decoded = history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
    expect(decoded).not.toContain(SIM_TOKEN);
    for (const body of bodies) expect(decoded).not.toContain(body);
  }
});

async function waitFor(
  handle: { progress(): Promise<ExportState> },
  predicate: (s: ExportState) => boolean,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.progress().catch(() => undefined);
    if (state && predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`Timed out waiting; last state: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
