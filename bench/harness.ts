/**
 * What every benchmark needs: a dev server, the simulator, a client and (unless the benchmark runs its
 * own worker processes) an in-process worker, built by the one stack builder (devserver/stack.ts); all
 * stopped by `close`.
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { DevServer } from '../devserver';
import { startStack } from '../devserver/stack';
import type { Simulator, SimulatorOptions } from '../simulator';
import type { ExportClient } from '../client/export-client';

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
  const stack = await startStack({ simulator, taskQueue: options.taskQueue ?? 'bench', accounts: options.accounts ?? BENCH_ACCOUNTS(), client: { startTimeoutMs: 120_000 } });
  if (options.inProcessWorker ?? true) {
    const slots = options.maxConcurrentActivityTaskExecutions;
    await stack.startWorker({ worker: slots === undefined ? undefined : { maxConcurrentActivityTaskExecutions: slots } }).catch(async (err: unknown) => {
      await stack.close();
      throw err;
    });
  }
  return { sim: stack.sim!, server: stack.server!, client: stack.client, out: stack.out, workerEnv: stack.workerEnv, close: () => stack.close() };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The value at fraction `p` (0 to 1) of the way up `values`, by rank: 0.1 is the tenth-least, 1 the largest. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

export const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Waits until each of `accounts` has made an export request, or until `limitMs` after `started` (the
 * first start), printing how many have each minute, with `more()` after it. How many had not, and the
 * seconds since the first start.
 */
export async function awaitUnderWay(bench: Bench, accounts: readonly string[], started: number, limitMs: number, more: () => string = () => ''): Promise<{ notYet: number; seconds: string }> {
  const waiting = () => {
    const accepted = bench.sim.stats().acceptedAt;
    return accounts.filter((a) => !accepted[`${a}:incremental-exports`]?.length).length;
  };
  const seconds = () => ((Date.now() - started) / 1000).toFixed(0);
  for (let n = 1; waiting() && Date.now() < started + limitMs; n++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (n % 60 === 0) print(`  under way: ${accounts.length - waiting()} of ${accounts.length} after ${seconds()}s${more()}`);
  }
  return { notYet: waiting(), seconds: seconds() };
}

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
