/**
 * The one way the harness runs a server or worker as a process (the dev server, the cluster's services,
 * worker processes): each leads its own process group, its output is kept, `stop` asks it to end and
 * kills it after a grace period, and none outlives this process: live groups are killed on 'exit', and
 * a small watchdog kills a group if this process dies without cleaning up (SIGKILL, crash, or a Jest
 * sandbox whose 'exit' never fires).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux.
const DEFAULT_OUTPUT_TAIL = 40_000;

export interface GroupProcessOptions {
  cwd?: string;
  /** The whole environment. @default this process's */
  env?: NodeJS.ProcessEnv;
  /** Characters of output kept (the tail). @default 40,000 */
  outputTail?: number;
  /**
   * Keep this process alive while it runs. False for servers: one someone forgot to stop must not keep
   * this process alive (the watchdog then kills it). @default true
   */
  ref?: boolean;
}

export interface GroupProcess {
  /** Its PID, also its process group's id. */
  readonly pid: number;
  /** Resolves once it is gone: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Not yet exited. */
  running(): boolean;
  /** The tail of what it printed on stdout and stderr, in the order it came. */
  output(): string;
  /** Calls `listener` with each chunk of output as it comes. */
  onOutput(listener: (text: string) => void): void;
  /** Sends `signal` to the group (SIGTERM by default), SIGKILL after `graceMs`; resolves once it is gone. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
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

// Holds a pipe from this process: when this process dies in any way the pipe closes and the watchdog
// kills the guarded process group at once.
const WATCHDOG = `const pgid = Number(process.argv[1]);
const kill = () => { try { process.kill(-pgid, 'SIGKILL'); } catch {} process.exit(0); };
process.stdin.on('data', () => {}).on('end', kill).on('error', kill);
setInterval(() => { try { process.kill(-pgid, 0); } catch { process.exit(0); } }, 2000);`;

/**
 * Kills process group `pgid` when this process exits or dies, however it dies, until `release()`: for
 * groups this process did not spawn itself (PostgreSQL's postmaster, which pg_ctl starts).
 */
export function guardGroup(pgid: number): { release(): void } {
  liveGroups.add(pgid);
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pgid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref(); // Don't keep this process alive.
  return {
    release() {
      liveGroups.delete(pgid);
      watchdog.kill('SIGKILL');
    },
  };
}

/** SIGKILL to a whole process group, if it is still there. */
export function killGroup(pgid: number): void {
  signalGroup(pgid, 'SIGKILL');
}

/** Starts `command` in a process group of its own; throws if it cannot be started at all. */
export function spawnGroup(command: string, args: readonly string[], options: GroupProcessOptions = {}): GroupProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // A spawn that failed, or a failed kill, is reported as 'error': not fatal here, the PID or the exit tells.
  child.on('error', () => undefined);
  // Node leaves the PID undefined exactly when the spawn failed.
  if (child.pid === undefined) throw new Error(`cannot run ${command}${existsSync(command) ? '' : ': no such file'}`);
  const pgid = child.pid;
  const guard = guardGroup(pgid);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => guard.release());
  let output = '';
  const listeners: ((text: string) => void)[] = [];
  const tail = options.outputTail ?? DEFAULT_OUTPUT_TAIL;
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d: Buffer) => {
      const text = d.toString();
      output = (output + text).slice(-tail);
      for (const listener of listeners) listener(text);
    });
    if (options.ref === false) (stream as unknown as { unref?(): void } | null)?.unref?.();
  }
  if (options.ref === false) child.unref();
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: pgid,
    exited,
    running,
    output: () => output,
    onOutput: (listener) => void listeners.push(listener),
    async stop({ signal = 'SIGTERM', graceMs = 5_000 } = {}) {
      if (running()) {
        signalGroup(pgid, signal);
        const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      signalGroup(pgid, 'SIGKILL'); // Anything left in its group.
      guard.release();
    },
  };
}

/** CPU seconds (user + system) of any process, 0 if it is gone. */
export function processCpuSeconds(pid: number): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = procFile(pid, 'stat').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}

/** Resident memory of any process in KiB, 0 if it is gone. */
export function processRssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(procFile(pid, 'status'))?.[1] ?? 0);
}

function procFile(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}
