/**
 * `npm start`: the whole thing on one machine. A Temporal dev server with SQLite under `.temporal/`
 * (and its Web UI), the simulator with a seeded account (or your Zendesk account when ZENDESK_SUBDOMAIN
 * and credentials are set), a worker, and an export of all four resources at once into `./export/`,
 * with live progress. Ctrl-C stops it; running it again resumes where it stopped.
 */
import path from 'node:path';
import { NativeConnection, Runtime, DefaultLogger, makeTelemetryFilterString } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, freePort } from '../devserver';
import { startSimulator, simulatorWorkerEnv, type Simulator } from '../simulator';
import { credentialsFromEnv } from '../zendesk/credentials';
import { RESOURCES, type RateBudget } from '../zendesk/endpoints';
import { ExportClient } from '../client/export-client';
import { createExportWorker } from '../worker/create-worker';
import { watch } from '../cli/watch';
import { UserError } from '../client/request';

const ROOT = path.resolve(__dirname, '../..');
/** The simulator's limit, and the budget the demo's exports pace to: visible pacing, a short run. */
const DEMO_BUDGET: RateBudget = { requests: 60, seconds: 10 };

async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => void freePort().then(resolve));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(preferred)));
  });
}

async function main(): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    shutdownSignals: [], // Ctrl-C is handled below: detach, stop the worker, stop the server.
  });
  const real = Boolean(process.env.ZENDESK_SUBDOMAIN && credentialsFromEnv(process.env));
  let sim: Simulator | undefined;
  const workerEnv: Record<string, string | undefined> = { ...process.env };
  if (!real) {
    sim = await startSimulator({
      sizes: { tickets: 3000, users: 1500, organizations: 300, ticket_events: 5000 },
      rateLimits: { 'incremental-exports': DEMO_BUDGET, 'incremental-exports-cursor': DEMO_BUDGET },
    });
    Object.assign(workerEnv, simulatorWorkerEnv(sim));
  }
  const account = real ? process.env.ZENDESK_SUBDOMAIN! : 'demo';

  const external = process.env.TEMPORAL_ADDRESS;
  const server = external
    ? undefined
    : await startDevServer({ dbFilename: path.join(ROOT, '.temporal', 'dev.sqlite'), port: await portOr(7233), ui: await portOr(8233) });
  const address = external ?? server!.address;
  process.stdout.write(
    (real ? `Exporting Zendesk account ${account}.\n` : `Zendesk simulator at ${sim!.url} (account "${account}", ${DEMO_BUDGET.requests} requests per ${DEMO_BUDGET.seconds}s).\n`) +
      `Temporal at ${address}${server?.uiUrl ? `; watch it in the Web UI: ${server.uiUrl}/namespaces/default/workflows` : ''}\n` +
      `Writing NDJSON to ${path.join(ROOT, 'export', account)}/<resource>/. Ctrl-C stops; npm start again resumes.\n\n`,
  );

  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createExportWorker({
    connection: nativeConnection,
    taskQueue: 'zendesk-export',
    activities: { env: { ...workerEnv, ZENDESK_ACCOUNTS: account }, destinations: { outputRoot: path.join(ROOT, 'export'), postgres: {} } },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new ExportClient({ client: new Client({ connection }) });

  let code = 0;
  try {
    const handles = await client.startMany(
      RESOURCES.map((resource) => ({
        account,
        resource,
        startTime: 0,
        // Small pages on the simulator, so the pacing shows.
        perPage: real ? undefined : 100,
        destination: path.join(ROOT, 'export'),
        rateLimit: real ? undefined : DEMO_BUDGET,
      })),
    );
    if (handles.some((h) => h.alreadyRunning)) process.stdout.write('Resuming the exports already under way.\n');
    code = await watch(handles, { taskQueue: client.taskQueue, detachHint: '\nStopped. Run `npm start` again to resume where it left off.\n' });
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await server?.stop();
    await sim?.close();
  }
  process.exit(code === 130 ? 0 : code);
}

main().catch((err: Error) => {
  process.stderr.write(`${err instanceof UserError ? '' : 'The demo failed: '}${err.message}\n`);
  process.exit(1);
});
