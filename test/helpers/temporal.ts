/**
 * Temporal servers for tests:
 * - `startDevServer()` (from devserver/): `temporal server start-dev` on free ports with a SQLite file and
 *   the project's search attributes, polled until healthy, never outliving the test process.
 * - `createTimeSkippingEnv()`: the time-skipping test server, spawned by the SDK from an existing path.
 * - `useDevServer()`: one dev server and environment shared by every test in a file (beforeAll/afterAll),
 *   which is the cheap way to use it: a server start costs a few seconds, a test file should pay it once.
 * A whole export stack (simulator, output folder, workers, client) on top: `startStack` (devserver/stack.ts),
 * or `startExportStack` (exports.ts) on a test environment.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { findTestServer, startDevServer, type DevServer, type DevServerOptions } from '../../devserver';

export { startDevServer, type DevServer, type DevServerOptions };

let runtimeInstalled = false;
/** Quiet SDK logs; must run before anything creates a connection, environment or worker. Idempotent. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Already installed in this process.
  }
}

/** A test environment on a dev server from startDevServer() (a real server: sleeps take real time). */
export function createDevServerEnv(server: Pick<DevServer, 'address' | 'namespace'>): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: server.namespace });
}

/** The time-skipping test server; downloads one (internet needed) only if none is found. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const found = findTestServer();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: found ? { type: 'existing-path', path: found } : { type: 'cached-download' } },
  });
}

/**
 * One dev server and environment for every test in a file. Call at the top level of the file:
 *   const temporal = useDevServer();
 *   test('...', async () => { const { client, nativeConnection } = temporal.env; ... });
 */
export function useDevServer(options?: DevServerOptions): { readonly server: DevServer; readonly env: TestWorkflowEnvironment } {
  let server: DevServer | undefined;
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    installTestRuntime();
    server = await startDevServer(options);
    env = await createDevServerEnv(server);
  });
  afterAll(async () => {
    await env?.teardown();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useDevServer(): the server is not up (use it inside tests or hooks)');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get env() {
      return ready(env);
    },
  };
}

const bundles = new Map<string, Promise<WorkflowBundle>>();
/** Bundles a workflows file once per test file (webpack takes seconds); workers reuse the bundle. */
export function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundle> {
  installTestRuntime();
  let bundle = bundles.get(workflowsPath);
  if (!bundle) {
    bundle = bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') }).then(({ code }) => ({ code }));
    bundles.set(workflowsPath, bundle);
  }
  return bundle;
}
