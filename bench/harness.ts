/**
 * What every benchmark needs: a dev server, the simulator, a client and (unless the benchmark runs its
 * own worker processes) an in-process worker; all stopped by `close`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../devserver';
import { simulatorWorkerEnv, startSimulator, type Simulator, type SimulatorOptions } from '../simulator';
import { ExportClient } from '../client/export-client';
import { createExportWorker } from '../worker/create-worker';

export interface Bench {
  sim: Simulator;
  server: DevServer;
  client: ExportClient;
  out: string;
  /** A worker's environment for this bench: the simulator's credentials for `accounts`, output under `out`. */
  workerEnv(accounts: readonly string[], options?: { perAccount?: boolean }): Record<string, string>;
  close(): Promise<void>;
}

/** The accounts a bench's in-process worker serves (its credentials are bound to them). */
export const BENCH_ACCOUNTS = (n = 10) => Array.from({ length: n }, (_, i) => `bench${i + 1}`);

export interface BenchOptions {
  taskQueue?: string;
  /** Run a worker in this process. @default true */
  inProcessWorker?: boolean;
  maxConcurrentActivityTaskExecutions?: number;
  /** The accounts the in-process worker serves. @default bench1..bench10 */
  accounts?: readonly string[];
}

let runtime = false;

export async function startBench(simulator: SimulatorOptions, options: BenchOptions = {}): Promise<Bench> {
  if (!runtime) {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
      shutdownSignals: [], // Ctrl-C ends the benchmark (bench/index.ts), not just its worker.
    });
    runtime = true;
  }
  const taskQueue = options.taskQueue ?? 'bench';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-bench-'));
  const [server, sim] = await Promise.all([startDevServer(), startSimulator({ recentWindowSeconds: 0, ...simulator })]);
  const out = path.join(dir, 'out');
  const workerEnv = (accounts: readonly string[], opts: { perAccount?: boolean } = {}) => ({
    ...simulatorWorkerEnv(sim, opts),
    ZENDESK_ACCOUNTS: accounts.join(','),
    ZENDESK_EXPORT_OUTPUT_ROOT: out,
  });
  let worker: { native: NativeConnection; worker: Worker; running: Promise<void> } | undefined;
  if (options.inProcessWorker ?? true) {
    const native = await NativeConnection.connect({ address: server.address });
    const w = await createExportWorker({
      connection: native,
      taskQueue,
      activities: { env: workerEnv(options.accounts ?? BENCH_ACCOUNTS()) },
      worker: { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions },
    });
    worker = { native, worker: w, running: w.run() };
  }
  const connection = await Connection.connect({ address: server.address });
  const client = new ExportClient({ client: new Client({ connection }), taskQueue, startTimeoutMs: 120_000 });
  return {
    sim,
    server,
    client,
    out,
    workerEnv,
    async close() {
      if (worker) {
        worker.worker.shutdown();
        await worker.running;
        await worker.native.close();
      }
      await connection.close();
      await sim.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The share of a budget that requests sent in [from, to) used. Paced requests come in bursts (a share
 * sent at the start of its window), so counting them in a fixed interval depends on where the interval
 * cuts; instead this measures from a request to the one a whole number of budgets later, which is one
 * window later when the budget is used fully (the ratio is window / actual period). With fewer than a
 * budget's worth of requests it falls back to the count in the interval.
 */
export function budgetUse(times: readonly number[], budget: { requests: number; seconds: number }, from: number, to: number): number {
  const inRange = times.filter((t) => t >= from && t < to);
  const windows = Math.floor((inRange.length - 1) / budget.requests);
  if (windows >= 1) return (windows * budget.seconds * 1000) / (inRange[windows * budget.requests]! - inRange[0]!);
  return inRange.length / (((to - from) / (budget.seconds * 1000)) * budget.requests);
}
