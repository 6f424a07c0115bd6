/**
 * What each fault scenario runs on: a Temporal dev server (SQLite), the simulator, the real worker CLI
 * as its own process (killed and restarted at will), bound to the scenario's account and with the
 * scenario's temp folder as its output root, and the client library. `verify` compares the NDJSON
 * written with the simulator's data and counts, rather than asserts, so the figures can be reported
 * before the scenario asserts them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../devserver';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { ExportClient } from '../../client/export-client';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { simulatorEnv } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { installTestRuntime } from '../helpers/temporal';

export interface ChaosStack {
  account: string;
  server: DevServer;
  sim: Simulator;
  client: ExportClient;
  /** The scenario's temp folder: the worker's output root, and the CLI's working folder. */
  out: string;
  taskQueue: string;
  worker: WorkerProcess;
  /** What a CLI of this account reads from its environment. */
  cliEnv: Record<string, string>;
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
  const n = ++stacks;
  const taskQueue = `chaos-${n}`;
  const account = `chaos${n}`;
  // The worker serves only this account (its credentials are bound to it) and writes only under `out`.
  const env = { ...simulatorEnv(sim), ZENDESK_ACCOUNTS: account, ZENDESK_EXPORT_OUTPUT_ROOT: out, ...workerEnv };
  const spawnWorker = () => startWorkerProcess({ temporalAddress: server.address, taskQueue, env, logLevel: 'INFO' });
  let output = '';
  const connection = await Connection.connect({ address: server.address });
  const stack: ChaosStack = {
    account,
    server,
    sim,
    out,
    taskQueue,
    client: new ExportClient({ client: new Client({ connection }), taskQueue, startTimeoutMs: 120_000 }),
    worker: spawnWorker(),
    cliEnv: { ...simulatorEnv(sim), TEMPORAL_ADDRESS: server.address, ZENDESK_SUBDOMAIN: account, ZENDESK_EXPORT_TASK_QUEUE: taskQueue, ZENDESK_EXPORT_OUTPUT_ROOT: out },
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

export function total(checks: readonly Check[]): Check {
  return checks.reduce((a, c) => ({ records: a.records + c.records, duplicates: a.duplicates + c.duplicates, losses: a.losses + c.losses }), { records: 0, duplicates: 0, losses: 0 });
}

export const clean = (check: Check) => check.duplicates === 0 && check.losses === 0;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `predicate` holds (the state lives in other processes: there is no event to await). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 120_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
