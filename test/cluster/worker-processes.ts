/**
 * Worker processes of the real CLI (`zendesk-export worker`, from dist/) with exactly the arguments and
 * environment given, nothing inherited but PATH: a worker that finds the cluster does so through its
 * env-config profile or TEMPORAL_* variables, as one deployed beside Temporal Cloud would. Each runs in
 * its own process group under a watchdog (devserver/), so none outlives the test process.
 */
import { spawn } from 'node:child_process';
import { startWatchdog } from '../../devserver';
import { CLI_PATH, processCpuSeconds } from '../../devserver/worker-process';

const OUTPUT_TAIL = 40_000;

export interface ClusterWorker {
  readonly name: string;
  readonly pid: number;
  /** Resolves once it is gone: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once it polls its task queue (its start-up line); rejects if it exits first. */
  readonly ready: Promise<void>;
  output(): string;
  cpuSeconds(): number;
  /** Sends `signal` to its process group and resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startClusterWorker(name: string, args: string[], env: Record<string, string>): ClusterWorker {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  const watchdog = startWatchdog(pid);
  let output = '';
  let onLine: (() => void) | undefined;
  const append = (d: Buffer) => {
    output = (output + d.toString()).slice(-OUTPUT_TAIL);
    onLine?.();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => watchdog.kill('SIGKILL'));
  const ready = new Promise<void>((resolve, reject) => {
    // The worker's INFO line once its pollers run (worker/main.ts).
    onLine = () => {
      if (/Worker polling task queue/.test(output)) resolve();
    };
    void exited.then(() => reject(new Error(`worker ${name} exited before it polled:\n${output}`)));
  });
  ready.catch(() => undefined); // Callers that never wait for it still see the exit.
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid,
    exited,
    ready,
    output: () => output,
    cpuSeconds: () => processCpuSeconds(pid),
    async kill(signal = 'SIGTERM') {
      if (running()) {
        try {
          process.kill(-pid, signal);
        } catch {
          // Gone meanwhile.
        }
      }
      await exited;
    },
  };
}
