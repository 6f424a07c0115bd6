/**
 * Temporal servers for tests: a dev server (free ports, a temp SQLite file, the project's search
 * attributes) and the time-skipping test server, both from binaries found on this machine
 * (devserver/ says where). Each test file starts one server and tears it down; no process is left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { findTestServer, startDevServer as startServer, type DevServer } from '../../devserver';

export type { DevServer };

let runtimeInstalled = false;
/** Quiet SDK logs in tests; must run before anything touches the runtime. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by an earlier file in this process.
  }
}

/** A dev server on free ports with a temp SQLite file; `stop()` also removes the file. */
export async function startDevServer(options: { dynamicConfig?: Record<string, string | number | boolean>; ui?: boolean } = {}): Promise<DevServer> {
  installTestRuntime();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-temporal-'));
  const server = await startServer({ dbFilename: path.join(dir, 'temporal.sqlite'), dynamicConfig: options.dynamicConfig });
  return {
    ...server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function createDevServerEnv(server: DevServer): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: server.namespace });
}

export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const executable = findTestServer();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: executable ? { type: 'existing-path', path: executable } : { type: 'cached-download' } },
  });
}

/** Bundle the workflows once per test file; each test's worker reuses it. */
export async function bundleWorkflows(workflowsPath: string): Promise<{ code: string }> {
  installTestRuntime();
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
  return { code };
}
