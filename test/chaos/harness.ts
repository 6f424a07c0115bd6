/**
 * What each fault scenario runs on: a Temporal dev server (SQLite), the simulator, the real worker CLI
 * as its own process (killed and restarted at will), bound to the scenario's account and with the
 * scenario's temp folder as its output root, and the client library. `verify` compares the NDJSON
 * written with the simulator's data and counts, rather than asserts, so the figures can be reported
 * before the scenario asserts them.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { DevServer } from '../../devserver';
import { eventually } from '../../devserver/poll';
import { startStack } from '../../devserver/stack';
import type { WorkerProcess } from '../../devserver/worker-process';
import type { ExportClient } from '../../client/export-client';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import type { Simulator, SimulatorOptions } from '../../simulator';
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
  const n = ++stacks;
  // The worker serves only this account (its credentials are bound to it) and writes only under `out`.
  const base = await startStack({ simulator, accounts: [`chaos${n}`], taskQueue: `chaos-${n}`, workerEnv, client: { startTimeoutMs: 120_000 } });
  const spawnWorker = () => base.startWorkerProcess({ logLevel: 'INFO' });
  let output = '';
  const stack: ChaosStack = {
    account: base.account,
    server: base.server!,
    sim: base.sim!,
    out: base.out,
    taskQueue: base.taskQueue,
    client: base.client,
    worker: spawnWorker(),
    cliEnv: base.cliEnv(),
    async restartWorker(signal = 'SIGKILL') {
      await stack.worker.kill(signal);
      output += stack.worker.output();
      stack.worker = spawnWorker();
    },
    workerOutput: () => output + stack.worker.output(),
    close: () => base.close(),
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

export { sleep } from '../../common/sleep';

/** Polls until `predicate` holds (the state lives in other processes: there is no event to await). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 120_000, what = 'condition'): Promise<void> {
  await eventually(what, async () => ((await predicate()) ? true : undefined), timeoutMs, 20);
}
