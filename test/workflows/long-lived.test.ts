/**
 * A follow export runs for months: a simulated year of daily polls (time-skipping server, the page
 * activity mocked) must keep every run's history and the state it carries into the next within fixed
 * sizes, however many polls, notes and sends pass.
 */
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchInput, BatchResult } from '../../contract/page-activity';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { ExportClient } from '../../client/export-client';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import type { exportResource } from '../../workflows';
import type { ExportInput } from '../../workflows/types';
import type { temporal } from '@temporalio/proto';
import { mockedActivities } from '../helpers/mock-activities';
import { bundleWorkflows, createTimeSkippingEnv } from '../helpers/temporal';
import { MAX_HISTORY_EVENTS } from '../../workflows/export-resource';

let env: TestWorkflowEnvironment;
let bundle: { code: string };

beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows(WORKFLOWS_PATH)]);
});
afterAll(async () => {
  await env?.teardown();
});

test('a year of daily follow polls keeps each run and its carried state bounded', async () => {
  const DAYS = 365;
  let polls = 0;
  // Each poll finds one page and says something worth a note: notes and sends must not pile up.
  const fetchPages = async (input: BatchInput): Promise<BatchResult> => {
    polls++;
    return { at: input.at, pages: 1, records: 3, repeats: 0, sideloaded: 0, sentAgoMs: [0], stop: 'end-of-stream', notes: [`poll ${polls}`] };
  };
  const taskQueue = `long-lived-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: mockedActivities(fetchPages) });
  const workflowId = exportWorkflowId('acme', 'organizations', 'organizations');
  const input: ExportInput = {
    account: 'acme',
    resource: 'organizations',
    endpoint: 'organizations',
    start: { kind: 'time', startTime: 0 },
    destination: { kind: 'ndjson', dir: '/tmp' },
    budget: { requests: 10, seconds: 60 },
    followIntervalSeconds: 86_400,
    maxPages: DAYS,
  };
  // Started as every export is, by its account's coordinator.
  const exports = new ExportClient({ client: env.client, taskQueue, searchAttributes: false });
  const result = await worker.runUntil(async () => {
    await exports.startInput(input);
    return env.client.workflow.getHandle<typeof exportResource>(workflowId).result();
  });
  await env.client.workflow.getHandle(coordinatorWorkflowId('acme')).terminate('test finished').catch(() => undefined);
  expect(result.state.progress.pages).toBe(DAYS);
  expect(result.state.progress.records).toBe(3 * DAYS);
  expect(result.state.notes).toHaveLength(10);
  expect(result.state.pace.sent.length).toBeLessThanOrEqual(10);

  // Each run of the chain, from the last back to the first.
  let runs = 0;
  for (let runId: string | undefined = (await env.client.workflow.getHandle(workflowId).describe()).runId; runId; runs++) {
    const events: temporal.api.history.v1.IHistoryEvent[] = (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    expect(events.length).toBeLessThanOrEqual(MAX_HISTORY_EVENTS + 20);
    // What each run started with: the input and the state carried from the run before.
    const started = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!;
    expect(started.length).toBeLessThan(16 * 1024);
    runId = events[0]!.workflowExecutionStartedEventAttributes!.continuedExecutionRunId || undefined;
  }
  expect(runs).toBeGreaterThan(1); // It continued as new on its way through the year.
});
