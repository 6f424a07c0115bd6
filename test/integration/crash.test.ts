/**
 * The worker process killed with SIGKILL mid-export, three times, then started again: the export
 * completes with nothing lost and nothing written twice. The worker is the real CLI (`dist/`, built
 * by `npm test`), so this is exactly what a user runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { simulatorEnv } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { startSimulator, type Simulator } from '../../simulator';
import { ExportClient } from '../../client/export-client';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';

let server: DevServer;
let sim: Simulator;
let out: string;
let env: TestWorkflowEnvironment;
const workers = new Set<WorkerProcess>();

beforeAll(async () => {
  server = await startDevServer();
  sim = await startSimulator({ sizes: { tickets: 600 }, rateLimits: 'off', recentWindowSeconds: 0, faults: { latencyMs: 50 } });
  out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-crash-'));
  env = await createDevServerEnv(server);
});
afterAll(async () => {
  await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
  await env?.teardown();
  await sim?.close();
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

function startWorker(taskQueue: string): WorkerProcess {
  // The worker serves only the accounts it is told of, and writes only inside its output root.
  const worker = startWorkerProcess({ temporalAddress: server.address, taskQueue, env: simulatorEnv(sim, { ZENDESK_ACCOUNTS: 'acme', ZENDESK_EXPORT_OUTPUT_ROOT: out }) });
  workers.add(worker);
  void worker.exited.then(() => workers.delete(worker));
  return worker;
}

test('SIGKILL of the worker mid-export, three times: complete, nothing lost, nothing twice', async () => {
  const taskQueue = 'crash-test';
  const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
  let worker = startWorker(taskQueue);
  const handle = await client.start({
    account: 'acme',
    resource: 'tickets',
    mode: 'time',
    startTime: 0,
    perPage: 10,
    destination: out,
    rateLimit: { requests: 1000, seconds: 1 },
  });
  for (let kill = 1; kill <= 3; kill++) {
    const target = kill * 12;
    // The simulator counts the pages asked for; a query would need the worker that is about to die.
    while ((sim.stats().requestsByEndpoint.tickets_time ?? 0) < target) await new Promise((r) => setTimeout(r, 20));
    await worker.kill('SIGKILL');
    worker = startWorker(taskQueue);
  }
  const result = await handle.result();
  await worker.kill();
  expect(result.outcome).toBe('completed');
  const written = readRecords(path.join(out, 'acme'), 'tickets');
  expect(duplicates(versionKeys(written, 'generated_timestamp'))).toEqual([]);
  const expected = sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  expect([...newestById(written, 'generated_timestamp').keys()].sort()).toEqual(expected.map((t) => String(t.id)).sort());
}, 300_000);
