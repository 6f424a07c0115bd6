/**
 * What the CLI tests run against, one per test file: a dev server, the simulator, and a temp folder
 * that is the CLI's working folder and the workers' output root; worker processes started for a test
 * are stopped with the rest in afterAll.
 */
import { startStack, type Stack } from '../../devserver/stack';
import type { WorkerProcess, WorkerProcessOptions } from '../../devserver/worker-process';
import type { Simulator, SimulatorOptions } from '../../simulator';
import { killRunning, runCli, startCli, type CliResult, type RunningProcess } from '../helpers/cli';
import type { DevServer } from '../helpers/temporal';

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
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ simulator });
  });
  afterAll(async () => {
    killRunning();
    await stack?.close();
  });
  return {
    get server() {
      return stack.server!;
    },
    get sim() {
      return stack.sim!;
    },
    get dir() {
      return stack.out;
    },
    env: (account, taskQueue) => stack.cliEnv(account, taskQueue),
    cli: (args, env) => runCli(args, env, { cwd: stack.out }),
    startCli: (args, env) => startCli(args, env, { cwd: stack.out }),
    worker: (env, options = {}) => stack.startWorkerProcess({ taskQueue: env.ZENDESK_EXPORT_TASK_QUEUE ?? 'zendesk-export', env, ...options }),
    async histories(prefixes) {
      const { client } = stack.client;
      const query = prefixes.map((p) => `WorkflowId STARTS_WITH '${p}'`).join(' OR ');
      const out: string[] = [];
      for await (const w of client.workflow.list({ query })) {
        const history = JSON.stringify(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
        out.push(history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8')));
      }
      return out;
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
