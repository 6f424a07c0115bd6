/**
 * What each fault scenario runs on: a Temporal dev server (SQLite), the simulator, the real worker CLI
 * as its own process (killed and restarted at will), and the client library. `verify` compares the
 * NDJSON written with the simulator's data and counts, rather than asserts, so the figures can be
 * reported; the scenario asserts them.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../devserver';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { ExportClient } from '../../client/export-client';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { simulatorEnv, SIM_EMAIL, SIM_TOKEN } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { installTestRuntime } from '../helpers/temporal';

export interface ChaosStack {
  account: string;
  server: DevServer;
  sim: Simulator;
  client: ExportClient;
  out: string;
  taskQueue: string;
  worker: WorkerProcess;
  /** SIGKILLs the worker (unless gone) and starts a fresh one. */
  restartWorker(signal?: NodeJS.Signals): Promise<void>;
  /** Everything every worker of this stack printed. */
  workerOutput(): string;
  close(): Promise<void>;
}

let stacks = 0;

export async function startChaosStack(simulator: SimulatorOptions, workerEnv: Record<string, string> = {}): Promise<ChaosStack> {
  installTestRuntime();
  const [server, sim] = await Promise.all([startDevServer(), startSimulator({ recentWindowSeconds: 0, ...simulator })]);
  const out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-chaos-'));
  const taskQueue = `chaos-${++stacks}`;
  const spawnWorker = () =>
    startWorkerProcess({ temporalAddress: server.address, taskQueue, env: { ...simulatorEnv(sim), ...workerEnv }, logLevel: 'INFO', captureOutput: true });
  let output = '';
  const connection = await Connection.connect({ address: server.address });
  const stack: ChaosStack = {
    account: `chaos${stacks}`,
    server,
    sim,
    out,
    taskQueue,
    client: new ExportClient({ client: new Client({ connection }), taskQueue, startTimeoutMs: 120_000 }),
    worker: spawnWorker(),
    async restartWorker(signal = 'SIGKILL') {
      await stack.worker.kill(signal);
      output += stack.worker.output();
      stack.worker = spawnWorker();
    },
    workerOutput: () => output + stack.worker.output(),
    async close() {
      await stack.worker.kill('SIGTERM');
      await connection.close();
      await sim.close();
      await server.stop();
      rmSync(out, { recursive: true, force: true });
    },
  };
  return stack;
}

export interface Check {
  /** Record versions in the output. */
  records: number;
  /** The same id@version written more than once. */
  duplicates: number;
  /** Ids the simulator has that the output lacks, or holds only in an older version. */
  losses: number;
}

/** Compares the NDJSON of one resource with the simulator's newest versions. */
export function verify(stack: ChaosStack, resource: Resource, options: { supportTypeScope?: 'all' } = { supportTypeScope: 'all' }): Check {
  const { versionField } = RESOURCE_SPECS[resource];
  const written = readRecords(path.join(stack.out, stack.account), resource);
  const newest = newestById(written, versionField);
  const expected = stack.sim.expected(undefined, resource, options);
  const losses = expected.filter((r) => !isDeepStrictEqual(newest.get(String(r.id)), r)).length;
  return { records: written.length, duplicates: duplicates(versionKeys(written, versionField)).length, losses };
}

/** Neither the API token nor its Basic header in anything a worker printed. */
export function leakedSecrets(text: string): number {
  const secrets = [SIM_TOKEN, Buffer.from(`${SIM_EMAIL}/token:${SIM_TOKEN}`).toString('base64')];
  return secrets.filter((s) => text.includes(s)).length;
}

export interface Figures {
  scenario: string;
  faults: number;
  survived: number;
  records: number;
  duplicates: number;
  losses: number;
  logLines?: number;
  secretsLeaked?: number;
  badInputs?: number;
}

/** Appends a scenario's figures for the report printed at the end of `npm run chaos`. */
export function report(figures: Figures): void {
  const file = process.env.CHAOS_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `predicate` holds (the state lives in other processes: there is no event to await). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 120_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
