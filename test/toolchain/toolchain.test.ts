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
