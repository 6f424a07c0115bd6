/**
 * The workflows as wiring, with the page activity mocked: the coordinator's rules (shares, queueing
 * when the budget is smaller than the exports sharing it, hand-over when one ends), a batch's reported
 * endpoint switch reaching the next batch, and a pause cutting a batch short. The mock stands in for
 * Zendesk so each rule can be driven exactly; budgets use windows of seconds on a real dev server.
 */
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { Context } from '@temporalio/activity';
import type { BatchInput, BatchResult } from '../../contract/page-activity';
import { ExportClient } from '../../client/export-client';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import { coordinatorStateQuery } from '../../workflows/messages';
import type { Resource } from '../../zendesk/endpoints';
import { useExportServer } from '../helpers/exports';
import { mockedActivities } from '../helpers/mock-activities';

const shared = useExportServer();

type Mock = (input: BatchInput) => Promise<BatchResult>;

/** A batch that wrote `pages` pages and made one request per page, just now. */
function wrote(input: BatchInput, pages: number, stop: BatchResult['stop'], extra: Partial<BatchResult> = {}): BatchResult {
  return { at: input.at, pages, records: pages, repeats: 0, sideloaded: 0, sentAgoMs: Array<number>(pages).fill(0), stop, notes: [], ...extra };
}

/** Sends made as the real activity makes them: each request at its slot in the batch's schedule. */
async function sendOnSchedule(input: BatchInput): Promise<number[]> {
  const began = Date.now();
  const sentAt: number[] = [];
  for (let i = 0; i < input.maxRequests + (input.laterMs?.length ?? 0); i++) {
    const wait = began + (input.laterMs?.[i - input.maxRequests] ?? 0) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt.push(Date.now());
  }
  const now = Date.now();
  return sentAt.map((t) => now - t);
}

async function withMock<T>(fetchPages: Mock, fn: (client: ExportClient, account: string) => Promise<T>): Promise<T> {
  const taskQueue = `mocked-${Math.random().toString(36).slice(2)}`;
  const account = `acct-${taskQueue.slice(7, 15)}`;
  const worker = await Worker.create({ connection: shared.env.nativeConnection, taskQueue, workflowBundle: shared.bundle, activities: mockedActivities(fetchPages) });
  const client = new ExportClient({ client: shared.env.client, taskQueue, searchAttributes: false });
  try {
    return await worker.runUntil(fn(client, account));
  } finally {
    await shared.env.client.workflow.getHandle(coordinatorWorkflowId(account)).terminate().catch(() => undefined);
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const ms = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** Send times on the workflow clock, from each batch's completion and the `sentAgoMs` it reported. */
async function sendTimes(workflowId: string): Promise<number[]> {
  const events = (await shared.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events
    .filter((e) => e.activityTaskCompletedEventAttributes)
    .flatMap((e) => {
      const result = JSON.parse(Buffer.from(e.activityTaskCompletedEventAttributes!.result!.payloads![0]!.data!).toString()) as BatchResult;
      return result.sentAgoMs.map((ago) => ms(e) - ago);
    });
}

test('a budget smaller than the exports sharing it queues the latest, hands a share on when one ends, and never exceeds the budget', async () => {
  const pagesOf: Record<string, number> = {};
  const done = new Set<Resource>();
  const fetchPages: Mock = async (input) => {
    const r = input.target.resource;
    const sentAgoMs = await sendOnSchedule(input);
    pagesOf[r] = (pagesOf[r] ?? 0) + sentAgoMs.length;
    // Organizations end after 3 pages; the others go on until told.
    if (r === 'organizations' && pagesOf[r]! >= 3) done.add(r);
    return wrote(input, sentAgoMs.length, done.has(r) ? 'end-of-stream' : 'budget', { sentAgoMs });
  };
  await withMock(fetchPages, async (client, account) => {
    const budget = { requests: 2, seconds: 3 };
    const request = (resource: Resource) => ({ account, resource, mode: 'time' as const, startTime: 0, destination: '/tmp', rateLimit: budget });
    const [orgs, tickets, events] = await client.startMany([request('organizations'), request('tickets'), request('ticket_events')]);
    const coordinator = shared.env.client.workflow.getHandle(coordinatorWorkflowId(account));
    const shares = async () => Object.fromEntries(Object.entries((await coordinator.query(coordinatorStateQuery)).members).map(([id, m]) => [id.split('/')[2], m.share]));
    // Two requests among three exports: the one that came last waits its turn.
    expect(await shares()).toEqual({ organizations: 1, tickets: 1, ticket_events: 0 });
    await orgs!.result();
    done.add('tickets');
    await tickets!.result();
    done.add('ticket_events');
    const last = await events!.result();
    expect(last.outcome).toBe('completed');
    expect(last.state.progress.pages).toBeGreaterThan(0); // It got a share and ran.
    const all = [
      ...(await sendTimes(exportWorkflowId(account, 'organizations', 'organizations'))),
      ...(await sendTimes(exportWorkflowId(account, 'tickets', 'tickets_time'))),
      ...(await sendTimes(exportWorkflowId(account, 'ticket_events', 'ticket_events'))),
    ].sort((a, b) => a - b);

    for (const t of all) expect(all.filter((x) => x >= t && x < t + 3_000).length).toBeLessThanOrEqual(2);
  });
});

test('an export that ends hands on its real send times, not its whole share as if just spent', async () => {
  // Organizations sends one request and ends; tickets then joins alone. Had the leaver's whole share
  // been handed on as spent at its end, tickets would wait a full window for its first page.
  const calls: { resource: string; maxRequests: number }[] = [];
  const fetchPages: Mock = async (input) => {
    calls.push({ resource: input.target.resource, maxRequests: input.maxRequests });
    return wrote(input, 1, 'end-of-stream');
  };
  await withMock(fetchPages, async (client, account) => {
    const budget = { requests: 10, seconds: 60 };
    const request = (resource: Resource) => ({ account, resource, mode: 'time' as const, startTime: 0, destination: '/tmp', rateLimit: budget });
    await (await client.start(request('organizations'))).result();
    await (await client.start(request('tickets'))).result();
  });
  // The newcomer may send nine at once: only the leaver's one real request still sits in the window.
  expect(calls.find((c) => c.resource === 'tickets')!.maxRequests).toBe(9);
});

test("a batch's endpoint switch and note reach the state and the next batch", async () => {
  const inputs: BatchInput[] = [];
  const fetchPages: Mock = async (input) => {
    inputs.push(input);
    if (inputs.length === 1) {
      // The paging module decided: stuck on one second, switch to the cursor endpoint.
      const at = { ...input.at, endpoint: 'tickets_cursor' as const, next: { kind: 'cursor' as const, startTime: 42, cursor: null } };
      return wrote(input, 1, 'budget', { at, notes: ['More tickets share second 42 than one page holds; switched from tickets_time to tickets_cursor.'] });
    }
    return wrote(input, 1, 'end-of-stream');
  };
  const result = await withMock(fetchPages, async (client, account) =>
    (await client.start({ account, resource: 'tickets', mode: 'time', startTime: 0, destination: '/tmp', rateLimit: { requests: 100, seconds: 1 } })).result(),
  );
  expect(inputs[1]!.at.endpoint).toBe('tickets_cursor');
  expect(inputs[1]!.at.next).toEqual({ kind: 'cursor', startTime: 42, cursor: null });
  expect(inputs[1]!.firstPage).toBe(2);
  expect(result.state.at.endpoint).toBe('tickets_cursor');
  expect(result.state.notes).toEqual([expect.stringMatching(/switched from tickets_time to tickets_cursor/)]);
});

test('a pause cuts a batch short after its page in flight, and resume goes on from there', async () => {
  let batches = 0;
  const fetchPages: Mock = async (input) => {
    batches++;
    if (batches > 1) return wrote(input, 1, 'end-of-stream');
    // A long run: pages until asked to stop, heartbeating as the real activity does.
    let pages = 0;
    while (!Context.current().cancellationSignal.aborted && pages < 10_000) {
      pages++;
      Context.current().heartbeat(pages);
      await new Promise((r) => setTimeout(r, 20));
    }
    return wrote(input, pages, 'cancelled');
  };
  await withMock(fetchPages, async (client, account) => {
    const handle = await client.start({ account, resource: 'organizations', startTime: 0, destination: '/tmp', rateLimit: { requests: 1000, seconds: 1 } });
    await new Promise((r) => setTimeout(r, 500));
    await handle.pause();
    for (let i = 0; i < 200 && (await handle.progress()).status !== 'paused'; i++) await new Promise((r) => setTimeout(r, 50));
    const paused = await handle.progress();
    expect(paused.status).toBe('paused');
    expect(paused.progress.pages).toBeGreaterThan(0); // The cut batch's pages are counted.
    expect(paused.progress.pages).toBeLessThan(10_000);
    await handle.resume();
    const result = await handle.result();
    expect(result.state.progress.pages).toBe(paused.progress.pages + 1);
  });
});
