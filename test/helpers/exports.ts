/**
 * A real export stack for tests: the simulator, a worker with the real activities on a Temporal
 * server (time-skipping or dev), and the client library. Everything started is stopped by `close`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { ExportClient } from '../../client/export-client';
import { createExportWorker } from '../../worker/create-worker';
import { DEFAULT_API_TOKEN, simulatorWorkerEnv, startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import type { ActivityOptions } from '../../activities';
import { coordinatorWorkflowId } from '../../workflows/ids';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from './temporal';

export const SIM_EMAIL = DEFAULT_API_TOKEN.email;
export const SIM_TOKEN = DEFAULT_API_TOKEN.token;

export interface ExportStack {
  /** An account name of this stack's own: an account's coordinator lives on one task queue. */
  account: string;
  sim: Simulator;
  client: ExportClient;
  taskQueue: string;
  out: string;
  /** The environment the stack's workers read their credentials from. */
  workerEnv: Record<string, string>;
  /** Runs a fresh worker while `fn` runs. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Worker credentials for the simulator's default API token, as a worker would read them from its environment. */
export function simulatorEnv(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return { ...simulatorWorkerEnv(sim), ...extra };
}

export async function startExportStack(
  env: TestWorkflowEnvironment,
  workflowBundle: { code: string },
  options: {
    simulator?: SimulatorOptions;
    activities?: ActivityOptions;
    workerEnv?: Record<string, string>;
    postgres?: Record<string, string>;
    /** The worker's output root. @default a new temp folder, `out` */
    outputRoot?: string;
    /** The worker's and the client's data converter (a payload codec). @default plain payloads */
    dataConverter?: DataConverter;
  } = {},
): Promise<ExportStack> {
  const sim = await startSimulator({ recentWindowSeconds: 0, ...options.simulator });
  const taskQueue = `test-${randomUUID()}`;
  const account = `acct-${taskQueue.slice(5, 13)}`;
  const out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-out-'));
  // The worker's credentials serve this stack's account (and any the test adds).
  const workerEnv = simulatorEnv(sim, { ZENDESK_ACCOUNTS: account, ...options.workerEnv });
  const newWorker = (): Promise<Worker> =>
    createExportWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle,
      dataConverter: options.dataConverter,
      activities: {
        env: workerEnv,
        destinations: { outputRoot: options.outputRoot ?? out, postgres: options.postgres ?? {} },
        ...options.activities,
      },
    });
  // The time-skipping server has no custom search attributes.
  const temporal = options.dataConverter ? new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: options.dataConverter }) : env.client;
  const client = new ExportClient({ client: temporal, taskQueue, searchAttributes: !env.supportsTimeSkipping });
  return {
    account,
    sim,
    client,
    taskQueue,
    out,
    workerEnv,
    run: async (fn) => (await newWorker()).runUntil(fn),
    async close() {
      // An idle coordinator outlives its exports for a minute, on a task queue no worker serves after
      // this test: its timer would hold up time skipping in the next test.
      await env.client.workflow
        .getHandle(coordinatorWorkflowId(account))
        .terminate('test finished')
        .catch(() => undefined);
      await sim.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/**
 * One dev server, test environment and workflow bundle for a whole test file (started in beforeAll,
 * torn down in afterAll); each test builds its own stack on them.
 */
export function useExportServer(): { readonly server: DevServer; readonly env: TestWorkflowEnvironment; readonly bundle: { code: string } } {
  const shared = {} as { server: DevServer; env: TestWorkflowEnvironment; bundle: { code: string } };
  beforeAll(async () => {
    shared.server = await startDevServer();
    [shared.env, shared.bundle] = await Promise.all([createDevServerEnv(shared.server), bundleWorkflows(WORKFLOWS_PATH)]);
  });
  afterAll(async () => {
    await shared.env?.teardown();
    await shared.server?.stop();
  });
  return shared;
}
