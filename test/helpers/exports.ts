/**
 * A real export stack for tests: the simulator, a worker with the real activities on a Temporal
 * server (time-skipping or dev), and the client library, built by the one stack builder
 * (devserver/stack.ts, which tests may also use directly). Everything started is stopped by `close`.
 */
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_API_TOKEN, simulatorWorkerEnv, type Simulator, type SimulatorOptions } from '../../simulator';
import type { ActivityOptions } from '../../activities';
import { startStack, type Stack } from '../../devserver/stack';
import { coordinatorWorkflowId } from '../../workflows/ids';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from './temporal';

export const SIM_EMAIL = DEFAULT_API_TOKEN.email;
export const SIM_TOKEN = DEFAULT_API_TOKEN.token;

export interface ExportStack {
  /** An account name of this stack's own: an account's coordinator lives on one task queue. */
  account: string;
  sim: Simulator;
  client: Stack['client'];
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
  const stack = await startStack({
    temporal: { address: env.address, namespace: env.namespace, nativeConnection: env.nativeConnection, client: env.client },
    simulator: options.simulator ?? {},
    outputRoot: options.outputRoot,
    workerEnv: options.workerEnv,
    // The time-skipping server has no custom search attributes.
    client: { searchAttributes: !env.supportsTimeSkipping },
    dataConverter: options.dataConverter,
  });
  // An idle coordinator outlives its exports for a minute, on a task queue no worker serves after this
  // test: its timer would hold up time skipping in the next test.
  stack.teardown.add(() => env.client.workflow.getHandle(coordinatorWorkflowId(stack.account)).terminate('test finished').catch(() => undefined));
  return {
    account: stack.account,
    sim: stack.sim!,
    client: stack.client,
    taskQueue: stack.taskQueue,
    out: stack.out,
    workerEnv: stack.workerEnv(),
    run: (fn) => stack.runWorker(fn, { workflowBundle, activities: options.activities, postgres: options.postgres }),
    close: () => stack.close(),
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
