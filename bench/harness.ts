/** What every benchmark needs: a dev server, the simulator, a worker, a client; all stopped by `close`. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../devserver';
import { DEFAULT_API_TOKEN, startSimulator, type Simulator, type SimulatorOptions } from '../simulator';
import { ExportClient } from '../client/export-client';
import { createExportWorker } from '../worker/create-worker';

export interface Bench {
  sim: Simulator;
  server: DevServer;
  client: ExportClient;
  worker: Worker;
  out: string;
  close(): Promise<void>;
}

let runtime = false;

export async function startBench(simulator: SimulatorOptions, worker: { maxConcurrentActivityTaskExecutions?: number } = {}): Promise<Bench> {
  if (!runtime) {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
    runtime = true;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-bench-'));
  const [server, sim] = await Promise.all([
    startDevServer(),
    startSimulator({ recentWindowSeconds: 0, ...simulator }),
  ]);
  const native = await NativeConnection.connect({ address: server.address });
  const w = await createExportWorker({
    connection: native,
    taskQueue: 'bench',
    activities: { env: { ZENDESK_BASE_URL: sim.url, ZENDESK_EMAIL: DEFAULT_API_TOKEN.email, ZENDESK_API_TOKEN: DEFAULT_API_TOKEN.token } },
    worker,
  });
  const running = w.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new ExportClient({ client: new Client({ connection }), taskQueue: 'bench', startTimeoutMs: 60_000 });
  return {
    sim,
    server,
    client,
    worker: w,
    out: path.join(dir, 'out'),
    async close() {
      w.shutdown();
      await running;
      await connection.close();
      await native.close();
      await sim.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const print = (line: string) => process.stdout.write(`${line}\n`);
