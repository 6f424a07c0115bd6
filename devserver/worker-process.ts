/**
 * A worker as its own process: the real CLI (`zendesk-export worker`, from dist/), as a user runs it,
 * for the tests, benchmarks and fault runs that kill it, restart it and measure its CPU and memory.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { processCpuSeconds, processRssKb, spawnGroup } from './process';

/** The CLI's entry point (it runs the built code in dist/). */
export const CLI_PATH = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..', 'bin', 'zendesk-export.js');

/** How long a worker asked to stop may take (it finishes its page in flight) before it is killed. */
const STOP_GRACE_MS = 60_000;

export interface WorkerProcessOptions {
  /** Where Temporal is (TEMPORAL_ADDRESS); omit when `env` or `args` say it another way (a profile, say). */
  temporalAddress?: string;
  /** ZENDESK_EXPORT_TASK_QUEUE; omit when `env` or `args` say it. */
  taskQueue?: string;
  /** Worker environment on top of this process's: credentials, ZENDESK_BASE_URL, ... */
  env: Record<string, string>;
  /** Start from an empty environment (PATH only) instead of this process's. @default true */
  inheritEnv?: boolean;
  /** The CLI's arguments. @default ['worker', '--log-level', logLevel] */
  args?: string[];
  /** A name for messages and log files. */
  name?: string;
  logLevel?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** Characters of output kept. @default 40,000 */
  outputTail?: number;
  /** The CLI to run: another build's `bin/zendesk-export.js`, for side-by-side benchmarks. @default this build's */
  cliPath?: string;
}

export interface WorkerProcess {
  readonly name: string;
  /** Its PID, also its process group's id. */
  readonly pid: number;
  /** Resolves once it is gone: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once it polls its task queue (its start-up line at INFO); rejects if it exits first. */
  readonly ready: Promise<void>;
  /** The tail of what it printed. */
  output(): string;
  /** User + system CPU seconds so far (0 once gone). */
  cpuSeconds(): number;
  /** Resident memory in KiB (0 once gone). */
  rssKb(): number;
  /** Sends a signal to its process group (SIGKILL after a grace period) and resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const env = {
    ...(options.inheritEnv === false ? { PATH: process.env.PATH ?? '' } : process.env),
    ...options.env,
    ...(options.temporalAddress === undefined ? {} : { TEMPORAL_ADDRESS: options.temporalAddress }),
    ...(options.taskQueue === undefined ? {} : { ZENDESK_EXPORT_TASK_QUEUE: options.taskQueue }),
  };
  const args = options.args ?? ['worker', '--log-level', options.logLevel ?? 'WARN'];
  const proc = spawnGroup(process.execPath, [options.cliPath ?? CLI_PATH, ...args], { env, outputTail: options.outputTail });
  const name = options.name ?? `worker ${proc.pid}`;
  const ready = new Promise<void>((resolve, reject) => {
    // The worker's INFO line once its pollers run (worker/main.ts).
    const polling = () => /Worker polling task queue/.test(proc.output()) && (resolve(), true);
    if (!polling()) proc.onOutput(polling);
    void proc.exited.then(() => reject(new Error(`${name} exited before it polled:\n${proc.output()}`)));
  });
  ready.catch(() => undefined); // Callers that never wait for it still see the exit.
  return {
    name,
    pid: proc.pid,
    exited: proc.exited,
    ready,
    output: proc.output,
    cpuSeconds: () => processCpuSeconds(proc.pid),
    rssKb: () => processRssKb(proc.pid),
    kill: (signal = 'SIGTERM') => proc.stop({ signal, graceMs: STOP_GRACE_MS }),
  };
}
