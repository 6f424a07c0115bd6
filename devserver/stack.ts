/**
 * One export stack for the demo, the benchmarks and the tests: Temporal (a dev server started here, or
 * one already running), the simulated Zendesk, an output folder, the worker environment that reaches
 * both, workers (in this process or as processes of the CLI) and a client. Everything is started in that
 * order and `close()` stops it in reverse, whatever happened in between; a start that fails half-way
 * stops what it had started.
 *
 *   const stack = await startStack({ simulator: { sizes: { tickets: 100 } } });
 *   try {
 *     await stack.runWorker(() => stack.client.start({ account: stack.account, resource: 'tickets', startTime: 0, destination: stack.out }).then((h) => h.result()));
 *   } finally {
 *     await stack.close();
 *   }
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { ActivityOptions } from '../activities';
import { ExportClient, type ExportClientOptions } from '../client/export-client';
import { simulatorWorkerEnv, startSimulator, type Simulator, type SimulatorOptions } from '../simulator';
import { createExportWorker } from '../worker/create-worker';
import { startDevServer, type DevServer, type DevServerOptions } from './index';
import { startWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from './worker-process';

/** Stops what was started, last first; each stop runs even when an earlier one failed. */
export class Teardown {
  private readonly stops: (() => Promise<unknown>)[] = [];
  add(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const stop of this.stops.splice(0).reverse()) await stop().catch((err: unknown) => failures.push(err));
    if (failures.length) throw failures[0];
  }
}

/** A Temporal server that is already running (the stack does not stop it). */
export interface ExistingTemporal {
  address: string;
  /** @default 'default' */
  namespace?: string;
  /** Connections to reuse instead of making the stack's own (a test environment's, say). */
  nativeConnection?: NativeConnection;
  client?: Client;
}

export interface StackOptions {
  /** A dev server started for the stack (with these options), or a server already running. @default a fresh dev server */
  temporal?: { devServer: DevServerOptions } | ExistingTemporal;
  /**
   * The simulated Zendesk, started with these options (`recentWindowSeconds` defaults to 0, so every
   * change can be exported at once), or false for none: real credentials then come in `workerEnv`.
   * @default a simulator with its default data
   */
  simulator?: SimulatorOptions | false;
  /** The accounts the workers serve (ZENDESK_ACCOUNTS); `account` is the first. @default one account of the stack's own */
  accounts?: readonly string[];
  /** @default one of the stack's own: an account's coordinator lives on one task queue */
  taskQueue?: string;
  /** The workers' output root. @default a temp folder, removed by close() */
  outputRoot?: string;
  /** Start the worker environment from this process's (a real account's credentials, say). @default false */
  inheritEnv?: boolean;
  /** On top of the simulator's credentials, the accounts and the output root: overrides them. */
  workerEnv?: Record<string, string>;
  /** The client's other options (waits, search attributes). */
  client?: Omit<ExportClientOptions, 'client' | 'taskQueue'>;
  /** The workers' and the client's data converter (a payload codec). @default plain payloads */
  dataConverter?: DataConverter;
}

export interface InProcessWorkerOptions {
  /** The workflow code, bundled. @default the prebuilt bundle, or the workflows bundled now */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Merged over the stack's: its environment and `destinations` (the output root, no Postgres targets). */
  activities?: ActivityOptions;
  /** Postgres targets by name (`destinations.postgres`). @default none */
  postgres?: Record<string, string>;
  /** The accounts this worker serves. @default the stack's */
  accounts?: readonly string[];
  /** Extra Worker options (concurrency, say). */
  worker?: Partial<WorkerOptions>;
}

export interface RunningWorker {
  worker: Worker;
  /** Shuts it down and resolves once it has stopped. */
  stop(): Promise<void>;
}

export interface Stack {
  /** Temporal's address and namespace. */
  address: string;
  namespace: string;
  /** The dev server the stack started, if it started one. */
  server?: DevServer;
  /** The simulated Zendesk, unless `simulator: false`. */
  sim?: Simulator;
  /** The workers' output root. */
  out: string;
  taskQueue: string;
  accounts: readonly string[];
  /** The first of `accounts`. */
  account: string;
  client: ExportClient;
  /** Stops registered here run on close(), before the stack's own. */
  teardown: Teardown;
  /** What a worker of `accounts` reads from its environment: credentials, ZENDESK_ACCOUNTS, the output root. */
  workerEnv(accounts?: readonly string[], options?: { perAccount?: boolean }): Record<string, string>;
  /** What a CLI (or a worker) of one account on a task queue reads from its environment. */
  cliEnv(account?: string, taskQueue?: string): Record<string, string>;
  /** A worker in this process, running until stopped or close(). */
  startWorker(options?: InProcessWorkerOptions): Promise<RunningWorker>;
  /** A fresh worker in this process while `fn` runs. */
  runWorker<T>(fn: () => Promise<T>, options?: InProcessWorkerOptions): Promise<T>;
  /** A worker process of the CLI (`zendesk-export worker`), killed on close() unless gone before. */
  startWorkerProcess(options?: Partial<WorkerProcessOptions>): WorkerProcess;
  close(): Promise<void>;
}

interface TemporalParts {
  address: string;
  namespace: string;
  server?: DevServer;
  nativeConnection(): Promise<NativeConnection>;
  client: Client;
}

/** Temporal as the options say, its stops registered. */
async function connectTemporal(options: StackOptions['temporal'], teardown: Teardown, dataConverter?: DataConverter): Promise<TemporalParts> {
  const existing = options && 'address' in options ? options : undefined;
  const server = existing ? undefined : await startDevServer(options && 'devServer' in options ? options.devServer : {});
  if (server) teardown.add(() => server.stop());
  const address = existing?.address ?? server!.address;
  const namespace = existing?.namespace ?? server?.namespace ?? 'default';
  let client = existing?.client;
  if (client && dataConverter) client = new Client({ connection: client.connection, namespace, dataConverter });
  if (!client) {
    const connection = await Connection.connect({ address });
    teardown.add(() => connection.close());
    client = new Client({ connection, namespace, dataConverter });
  }
  // Made on a worker's first start: a stack whose workers are processes never needs one.
  let native: Promise<NativeConnection> | undefined = existing?.nativeConnection && Promise.resolve(existing.nativeConnection);
  const nativeConnection = () =>
    (native ??= NativeConnection.connect({ address }).then((connection) => {
      teardown.add(() => connection.close());
      return connection;
    }));
  return { address, namespace, server, nativeConnection, client };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const teardown = new Teardown();
  try {
    const temporal = await connectTemporal(options.temporal, teardown, options.dataConverter);
    const sim = options.simulator === false ? undefined : await startSimulator({ recentWindowSeconds: 0, ...options.simulator });
    if (sim) teardown.add(() => sim.close());
    const out = options.outputRoot ?? mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-out-'));
    if (!options.outputRoot) teardown.add(async () => rmSync(out, { recursive: true, force: true }));
    const taskQueue = options.taskQueue ?? `stack-${randomUUID()}`;
    const accounts = options.accounts ?? [`acct-${randomUUID().slice(0, 8)}`];
    const client = new ExportClient({ ...options.client, client: temporal.client, taskQueue });
    return assemble({ options, teardown, temporal, sim, out, taskQueue, accounts, client });
  } catch (err) {
    await teardown.run().catch(() => undefined);
    throw err;
  }
}

type Parts = Pick<Stack, 'sim' | 'out' | 'taskQueue' | 'accounts' | 'client' | 'teardown'> & { options: StackOptions; temporal: TemporalParts };

function assemble(parts: Parts): Stack {
  const { options, teardown, temporal, sim, out, taskQueue, accounts, client } = parts;
  const base = options.inheritEnv ? definedOnly(process.env) : {};
  const workerEnv = (served: readonly string[] = accounts, opts: { perAccount?: boolean } = {}): Record<string, string> => ({
    ...base,
    ...(sim ? simulatorWorkerEnv(sim, opts) : {}),
    ZENDESK_ACCOUNTS: served.join(','),
    ZENDESK_EXPORT_OUTPUT_ROOT: out,
    ...options.workerEnv,
  });
  const cliEnv = (account = accounts[0]!, queue = taskQueue): Record<string, string> => ({
    ...base,
    ...(sim ? simulatorWorkerEnv(sim) : {}),
    TEMPORAL_ADDRESS: temporal.address,
    ZENDESK_SUBDOMAIN: account,
    ZENDESK_EXPORT_TASK_QUEUE: queue,
    ZENDESK_EXPORT_OUTPUT_ROOT: out,
  });
  const createWorker = async (opts: InProcessWorkerOptions): Promise<Worker> =>
    createExportWorker({
      connection: await temporal.nativeConnection(),
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: opts.workflowBundle,
      dataConverter: options.dataConverter,
      activities: { env: workerEnv(opts.accounts), destinations: { outputRoot: out, postgres: opts.postgres ?? {} }, ...opts.activities },
      worker: opts.worker,
    });
  return {
    address: temporal.address,
    namespace: temporal.namespace,
    server: temporal.server,
    sim,
    out,
    taskQueue,
    accounts,
    account: accounts[0]!,
    client,
    teardown,
    workerEnv,
    cliEnv,
    async startWorker(opts = {}) {
      const worker = await createWorker(opts);
      const running = worker.run();
      const stop = async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      };
      teardown.add(stop);
      return { worker, stop };
    },
    async runWorker(fn, opts = {}) {
      const worker = await createWorker(opts);
      const running = worker.runUntil(fn);
      // A caller that gives up on `fn` (a test's timeout) still gets the worker stopped by close().
      teardown.add(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
      });
      return running;
    },
    startWorkerProcess(opts = {}) {
      const worker = startWorkerProcess({ temporalAddress: temporal.address, taskQueue, env: workerEnv(), ...opts });
      teardown.add(() => worker.kill('SIGKILL'));
      return worker;
    },
    close: () => teardown.run(),
  };
}
