/**
 * The cluster's processes, each the leader of its own process group, as the dev server runs: killed on
 * 'exit', and guarded by a watchdog that kills the group if this process dies without cleaning up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { startWatchdog } from '../devserver';

export interface GroupProcess {
  readonly pid: number;
  /** Not yet exited. */
  running(): boolean;
  /** SIGTERM to the group (SIGKILL when `hard`), SIGKILL after `graceMs`; resolves once it is gone. */
  stop(hard: boolean, graceMs: number): Promise<void>;
}

const liveGroups = new Set<number>();
process.on('exit', () => liveGroups.forEach((pgid) => signalGroup(pgid, 'SIGKILL')));

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts `command`; its stdout and stderr go to `onOutput`. Rejects if it cannot be started at all. */
export async function spawnGroup(command: string, args: string[], options: { cwd: string; onOutput(text: string): void }): Promise<GroupProcess> {
  const child: ChildProcess = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Unref'd: a cluster someone forgot to stop must not keep this process alive (the watchdog then kills it).
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d: Buffer) => options.onOutput(d.toString()));
    (stream as unknown as { unref?(): void } | null)?.unref?.();
  }
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawnError) throw new Error(`cannot run ${command}: ${spawnError.message}`);
  const pgid = child.pid!;
  liveGroups.add(pgid);
  const watchdog = startWatchdog(pgid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    liveGroups.delete(pgid);
    watchdog.kill('SIGKILL');
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: pgid,
    running,
    async stop(hard, graceMs) {
      if (running()) {
        signalGroup(pgid, hard ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      signalGroup(pgid, 'SIGKILL'); // Anything left in its group.
      liveGroups.delete(pgid);
      watchdog.kill('SIGKILL');
    },
  };
}
