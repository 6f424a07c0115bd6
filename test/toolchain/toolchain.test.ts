/**
 * The Temporal toolchain itself: the dev server and the time-skipping server start from the binaries
 * found on this machine, run a workflow with an activity, and leave no process behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli, findTestServer } from '../../scripts/temporal-binaries';
import * as activities from './activities';
import { sleepAndGreet } from './workflows';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/ids';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import {
  bundleWorkflows,
  createDevServerEnv,
  createTimeSkippingEnv,
  installTestRuntime,
  startDevServer,
  type DevServer,
} from '../helpers/temporal';

const WORKFLOWS = path.join(__dirname, 'workflows.ts');
const DAY_MS = 24 * 60 * 60 * 1000;
const { IndexedValueType } = temporal.api.enums.v1;

installTestRuntime();

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Command lines of this process's live children (Linux /proc). */
function children(): string[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(ppid) !== process.pid || state === 'Z') return [];
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()];
      } catch {
        return [];
      }
    });
}

async function runWorkflow(env: TestWorkflowEnvironment, taskQueue: string, duration: Duration) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await bundleWorkflows(WORKFLOWS),
    activities,
  });
  return worker.runUntil(
    env.client.workflow.execute(sleepAndGreet, { taskQueue, workflowId: `${taskQueue}-${Date.now()}`, args: ['temporal', duration] }),
  );
}

test('the Temporal binaries are found', () => {
  expect(findTemporalCli()?.path).toBeTruthy();
  expect(findTestServer()?.path).toBeTruthy();
});

describe('dev server', () => {
  let server: DevServer | undefined;
  let env: TestWorkflowEnvironment | undefined;

  afterAll(async () => {
    await env?.teardown();
    await server?.stop();
  });

  test('runs a workflow, registers the search attributes, survives a restart and stops cleanly', async () => {
    server = await startDevServer({ searchAttributes: { ToolchainProbe: 'Int' } });
    env = await createDevServerEnv(server);

    const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: server.namespace });
    for (const name of Object.values(SEARCH_ATTRIBUTE_NAMES)) {
      expect(customAttributes?.[name]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    }
    expect(customAttributes?.ToolchainProbe).toBe(IndexedValueType.INDEXED_VALUE_TYPE_INT);

    const result = await runWorkflow(env, 'toolchain-dev', '100 milliseconds');
    expect(result.greeting).toBe('hello temporal');

    // Same port and SQLite file after a restart: the finished workflow is still there.
    const firstPid = server.pid!;
    await server.restart();
    expect(groupAlive(firstPid)).toBe(false);
    const { executions } = await env.client.workflowService.listWorkflowExecutions({ namespace: server.namespace, query: `WorkflowType = 'sleepAndGreet'` });
    expect(executions?.length).toBeGreaterThanOrEqual(1);

    const pid = server.pid!;
    expect(children().some((cmd) => cmd.includes('server start-dev'))).toBe(true);
    await env.teardown();
    env = undefined;
    await server.stop();
    server = undefined;
    expect(groupAlive(pid)).toBe(false);
    expect(children().filter((cmd) => cmd.includes('temporal'))).toEqual([]);
  });
});

/**
 * From the server's metrics, all services together: how many times it read its cluster metadata from
 * its store (where the search attributes live), and how many workflow starts it wrote to visibility.
 */
async function serverCounts(server: DevServer): Promise<{ metadataReads: number; visibilityStarts: number }> {
  const lines = (await (await fetch(server.metricsUrl)).text()).split('\n');
  const sum = (prefix: string, operation: string) =>
    lines
      .filter((line) => line.startsWith(`${prefix}{`) && line.includes(`operation="${operation}"`))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { metadataReads: sum('persistence_requests', 'GetCurrentClusterMetadata'), visibilityStarts: sum('visibility_persistence_requests', 'RecordWorkflowExecutionStarted') };
}

describe('dev server under many starts', () => {
  let server: DevServer | undefined;
  let env: TestWorkflowEnvironment | undefined;

  afterAll(async () => {
    await env?.teardown();
    await server?.stop();
  });

  test('reads the search attributes from its cache, not its store, at each start', async () => {
    server = await startDevServer();
    env = await createDevServerEnv(server);
    const start = (i: number) =>
      env!.client.workflow.start(sleepAndGreet, {
        taskQueue: 'toolchain-unpolled',
        workflowId: `toolchain-attributes-${i}`,
        args: ['temporal', '1 second'],
        typedSearchAttributes: [{ key: searchAttributeKeys.account, value: `acct${i}` }],
      });
    await start(0); // The first start may fill the cache.
    const STARTS = 20;
    // The server reports its metrics every second or so: wait until they include the visibility writes of the starts.
    const countsOnce = async (visibilityStarts: number) => {
      for (;;) {
        const counts = await serverCounts(server!);
        if (counts.visibilityStarts >= visibilityStarts) return counts;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const before = await countsOnce(1);
    for (let i = 1; i <= STARTS; i++) await start(i);
    const after = await countsOnce(before.visibilityStarts + STARTS);
    // With the dev server's own default, about three reads a start (63 for these 20, measured).
    expect(after.metadataReads - before.metadataReads).toBeLessThan(STARTS / 4);
  });
});

describe('time-skipping server', () => {
  test('a day of workflow time passes instantly', async () => {
    const env = await createTimeSkippingEnv();
    try {
      const started = Date.now();
      const result = await runWorkflow(env, 'toolchain-skip', '1 day');
      expect(result).toEqual({ greeting: 'hello temporal', sleptMs: expect.any(Number) });
      expect(result.sleptMs).toBeGreaterThanOrEqual(DAY_MS);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(children().some((cmd) => cmd.includes('temporal-test-server'))).toBe(true);
    } finally {
      await env.teardown();
    }
    expect(children().filter((cmd) => cmd.includes('temporal-test-server'))).toEqual([]);
  });
});
