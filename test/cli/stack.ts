/**
 * What the CLI tests run against, one per test file: a dev server, the simulator, and a temp folder
 * that is the CLI's working folder and the workers' output root; worker processes started for a test
 * are stopped with the rest in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startWorkerProcess, type WorkerProcess, type WorkerProcessOptions } from '../../devserver/worker-process';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { killRunning, runCli, startCli, type CliResult, type RunningProcess } from '../helpers/cli';
import { simulatorEnv } from '../helpers/exports';
import { startDevServer, type DevServer } from '../helpers/temporal';

export interface CliStack {
  readonly server: DevServer;
  readonly sim: Simulator;
  /** The CLI's working folder and the workers' output root. */
  readonly dir: string;
  /** What a CLI and a worker of `account` on `taskQueue` read from their environment. */
  env(account: string, taskQueue: string): Record<string, string>;
  cli(args: string[], env: Record<string, string>): Promise<CliResult>;
  startCli(args: string[], env: Record<string, string>): RunningProcess;
  /** A worker process with `env` (from `env()`, or its own), stopped after the file's tests at the latest. */
  worker(env: Record<string, string>, options?: Partial<WorkerProcessOptions>): WorkerProcess;
  /** Every workflow history whose ID starts with one of the prefixes, payloads decoded. */
  histories(prefixes: string[]): Promise<string[]>;
}

export function useCliStack(simulator: SimulatorOptions): CliStack {
  const workers = new Set<WorkerProcess>();
  const stack = {} as { server: DevServer; sim: Simulator; dir: string };
  beforeAll(async () => {
    stack.dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cli-'));
    [stack.server, stack.sim] = await Promise.all([startDevServer(), startSimulator({ recentWindowSeconds: 0, ...simulator })]);
  });
  afterAll(async () => {
    killRunning();
    await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
    await stack.sim?.close();
    await stack.server?.stop();
    rmSync(stack.dir, { recursive: true, force: true });
  });
  return {
    get server() {
      return stack.server;
    },
    get sim() {
      return stack.sim;
    },
    get dir() {
      return stack.dir;
    },
    env: (account, taskQueue) => ({
      ...simulatorEnv(stack.sim),
      TEMPORAL_ADDRESS: stack.server.address,
      ZENDESK_SUBDOMAIN: account,
      ZENDESK_EXPORT_TASK_QUEUE: taskQueue,
      ZENDESK_EXPORT_OUTPUT_ROOT: stack.dir,
    }),
    cli: (args, env) => runCli(args, env, { cwd: stack.dir }),
    startCli: (args, env) => startCli(args, env, { cwd: stack.dir }),
    worker(env, options = {}) {
      const worker = startWorkerProcess({ temporalAddress: stack.server.address, taskQueue: env.ZENDESK_EXPORT_TASK_QUEUE ?? 'zendesk-export', env, ...options });
      workers.add(worker);
      void worker.exited.then(() => workers.delete(worker));
      return worker;
    },
    async histories(prefixes) {
      const connection = await Connection.connect({ address: stack.server.address });
      try {
        const client = new Client({ connection });
        const query = prefixes.map((p) => `WorkflowId STARTS_WITH '${p}'`).join(' OR ');
        const out: string[] = [];
        for await (const w of client.workflow.list({ query })) {
          const history = JSON.stringify(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
          out.push(history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8')));
        }
        return out;
      } finally {
        await connection.close();
      }
    },
  };
}

/** Polls a CLI command until `done` holds for its result (state lives in other processes; there is no event to await). */
export async function until(check: () => Promise<CliResult>, done: (r: CliResult) => boolean, what: string): Promise<CliResult> {
  for (let tries = 0; ; tries++) {
    const r = await check();
    if (done(r)) return r;
    if (tries > 300) throw new Error(`${what} never happened: ${r.stdout} ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
