/**
 * What the demo runs beside its exports: Temporal (its own dev server on `.temporal/dev.sqlite`, or
 * TEMPORAL_ADDRESS's), the simulated account, and a worker. Each start registers its stop, and they
 * stop in reverse order, whatever happened in between.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { UserError } from '../client/errors';
import { ExportClient } from '../client/export-client';
import { freePort, startDevServer } from '../devserver';
import { seededRandom, simulatorWorkerEnv, startSimulator } from '../simulator';
import { createExportWorker } from '../worker/create-worker';
import type { DemoPaths } from './options';
import { DEMO_BUDGET, demoData, demoSimulatorOptions, forgetDemoData } from './simulator';

/** In follow mode the simulated account changes a ticket this often, so following has something to find. */
const CHANGE_EVERY_MS = 5_000;

/** Stops what was started, last first. */
export class Teardown {
  private readonly stops: (() => Promise<unknown>)[] = [];
  add(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }
  async run(): Promise<void> {
    for (const stop of this.stops.reverse()) await stop();
  }
}

/** The preferred port when free, else any free one (0: any free one). */
async function portOr(preferred: number): Promise<number> {
  if (preferred === 0) return freePort();
  const net = await import('node:net');
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => void freePort().then(resolve));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(preferred)));
  });
}

/** `--fresh`, before Temporal starts: the simulated data and, with its own dev server, the demo's Temporal database go. */
export function forgetLocalState(paths: DemoPaths, ownServer: boolean): void {
  forgetDemoData(paths.temporalDir);
  if (!ownServer || !existsSync(paths.temporalDir)) return;
  const database = path.basename(paths.database);
  for (const file of readdirSync(paths.temporalDir).filter((name) => name.startsWith(database))) rmSync(path.join(paths.temporalDir, file), { force: true });
  rmSync(path.join(paths.temporalDir, GENERATION_FILE), { force: true });
}

/**
 * The generation of workflow code the demo's saved Temporal state was made by. Exports started by an
 * earlier generation cannot be carried on by this code (their histories do not replay), so the demo
 * says so instead of starting them. Raised with any change of workflow code that is not patched.
 */
const STATE_GENERATION = 2;
const GENERATION_FILE = 'demo-generation';

/** Refuses a saved dev-server database made by an earlier generation of the workflows; marks a new one. */
export function checkSavedState(paths: DemoPaths): void {
  const mark = path.join(paths.temporalDir, GENERATION_FILE);
  const saved = existsSync(mark) ? Number(readFileSync(mark, 'utf8').trim()) : existsSync(paths.database) ? 1 : STATE_GENERATION;
  if (saved !== STATE_GENERATION) {
    throw new UserError(`The demo's saved exports in ${paths.temporalDir} were made by an earlier version whose workflows this one cannot carry on: npm start -- --fresh starts over.`);
  }
  mkdirSync(paths.temporalDir, { recursive: true });
  writeFileSync(mark, `${STATE_GENERATION}\n`);
}

export interface DemoTemporal {
  address: string;
  client: ExportClient;
  /** The Web UI's page of workflows, when the demo runs its own server. */
  uiUrl?: string;
}

export async function startTemporal(paths: DemoPaths, ports: { port: number; uiPort: number }, teardown: Teardown): Promise<DemoTemporal> {
  const external = process.env.TEMPORAL_ADDRESS;
  if (!external) checkSavedState(paths);
  const server = external ? undefined : await startDevServer({ dbFilename: paths.database, port: await portOr(ports.port), ui: await portOr(ports.uiPort) });
  if (server) teardown.add(() => server.stop());
  const address = external ?? server!.address;
  const connection = await Connection.connect({ address });
  teardown.add(() => connection.close());
  return { address, client: new ExportClient({ client: new Client({ connection }) }), uiUrl: server?.uiUrl && `${server.uiUrl}/namespaces/default/workflows` };
}

/** The simulated account, serving the data saved for this demo folder; the worker's environment to reach it. */
export async function startSimulatedAccount(paths: DemoPaths, follow: boolean, teardown: Teardown): Promise<{ url: string; workerEnv: Record<string, string> }> {
  const sim = await startSimulator(demoSimulatorOptions(demoData(paths.temporalDir)));
  teardown.add(() => sim.close());
  if (follow) {
    const random = seededRandom(Date.now());
    const tickets = sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).length;
    const changes = setInterval(() => sim.updateRecord(undefined, 'tickets', 1 + Math.floor(random() * tickets)), CHANGE_EVERY_MS);
    teardown.add(async () => clearInterval(changes));
  }
  return { url: `${sim.url} (${DEMO_BUDGET.requests} requests per ${DEMO_BUDGET.seconds}s)`, workerEnv: simulatorWorkerEnv(sim) };
}

/** A worker in this process, serving `account` only and writing only under the demo's export folder. */
export async function startWorker(temporal: DemoTemporal, account: string, env: Record<string, string | undefined>, paths: DemoPaths, teardown: Teardown): Promise<void> {
  const connection = await NativeConnection.connect({ address: temporal.address });
  teardown.add(() => connection.close());
  const worker = await createExportWorker({
    connection,
    taskQueue: temporal.client.taskQueue,
    activities: { env: { ...env, ZENDESK_ACCOUNTS: account }, destinations: { outputRoot: paths.outputRoot, postgres: {} } },
  });
  const running = worker.run();
  teardown.add(async () => {
    worker.shutdown();
    await running;
  });
}
