/**
 * A worker as its own process: the real CLI (`zendesk-export worker`, from dist/), as a user runs it,
 * for the benchmarks and fault runs that kill it, restart it and measure its CPU and memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startWatchdog } from './index';

/** The CLI's entry point (it runs the built code in dist/). */
export const CLI_PATH = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..', 'bin', 'zendesk-export.js');
const TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux.

export interface WorkerProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  /** Worker environment on top of this process's: credentials, ZENDESK_BASE_URL, ... */
  env: Record<string, string>;
  /** Start from an empty environment (PATH only) instead of this process's. @default true */
  inheritEnv?: boolean;
  logLevel?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** Collect the worker's stdout and stderr (see `output()`); else they are ignored. */
  captureOutput?: boolean;
}

export interface WorkerProcess {
  readonly pid: number;
  /** Resolves with the signal that ended it, or null when it exited by itself. */
  readonly exited: Promise<NodeJS.Signals | null>;
  /** What it printed so far (with captureOutput). */
  output(): string;
  /** User + system CPU seconds so far (0 once gone). */
  cpuSeconds(): number;
  /** Resident memory in KiB (0 once gone). */
  rssKb(): number;
  /** Sends a signal and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => live.forEach((child) => child.kill('SIGKILL')));

function procFile(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

export function startWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const child = spawn(process.execPath, [CLI_PATH, 'worker', '--log-level', options.logLevel ?? 'WARN'], {
    env: { ...(options.inheritEnv === false ? { PATH: process.env.PATH ?? '' } : process.env), ...options.env, TEMPORAL_ADDRESS: options.temporalAddress, ZENDESK_EXPORT_TASK_QUEUE: options.taskQueue },
    stdio: ['ignore', options.captureOutput ? 'pipe' : 'ignore', options.captureOutput ? 'pipe' : 'ignore'],
    detached: true, // Its own process group, which the watchdog kills if this process dies first.
  });
  live.add(child);
  const watchdog = startWatchdog(child.pid!);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  void exited.then(() => {
    live.delete(child);
    watchdog.kill('SIGKILL');
  });
  const pid = child.pid!;
  return {
    pid,
    exited,
    output: () => output,
    cpuSeconds: () => processCpuSeconds(pid),
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(procFile(pid, 'status'))?.[1] ?? 0),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** CPU seconds of any process (the Temporal server, say), 0 if it is gone. */
export function processCpuSeconds(pid: number): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = procFile(pid, 'stat').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}
