/**
 * `zendesk-export worker`: runs exports until SIGINT or SIGTERM, then finishes the page in hand and
 * stops. Zendesk credentials come from this process's environment (or ZENDESK_CREDENTIALS_FILE) and
 * never leave it.
 */
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import { API_TOKEN_SHUTDOWN } from '../zendesk/auth';
import { credentialsFromEnv } from '../zendesk/credentials';
import { resolveTemporalOptions, type TemporalOptions } from '../client/connection';
import { UserError } from '../client/request';
import { createExportWorker } from './create-worker';

export interface WorkerMainOptions extends TemporalOptions {
  /** host:port for Prometheus metrics at /metrics (the SDK's and the export's). */
  metrics?: string;
  logLevel?: LogLevel;
  /** Told once the worker polls (the demo waits for it). */
  onReady?: (info: { taskQueue: string; address: string; namespace: string }) => void;
}

export async function runWorker(options: WorkerMainOptions = {}): Promise<void> {
  const logLevel = options.logLevel ?? 'INFO';
  // Structured lines with the workflow, activity and account in their metadata; never credentials.
  const logger = new DefaultLogger(logLevel, (entry) => {
    const meta = entry.meta ? ` ${JSON.stringify(entry.meta)}` : '';
    process.stderr.write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`);
  });
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(options.metrics ? { metrics: { prometheus: { bindAddress: options.metrics } } } : {}),
    },
  });
  const credentials = safeCredentialsKind();
  if (credentials === 'api_token') {
    logger.warn(`Zendesk switches API tokens off on ${API_TOKEN_SHUTDOWN}; move this worker to OAuth (ZENDESK_OAUTH_CLIENT_ID ...).`);
  }
  const resolved = resolveTemporalOptions(options);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(resolved.connectionOptions);
  } catch {
    throw new UserError(`Cannot reach Temporal at ${resolved.address}: start a server (npm start, or temporal server start-dev) or set TEMPORAL_ADDRESS.`);
  }
  try {
    const worker = await createExportWorker({ connection, namespace: resolved.namespace, taskQueue: resolved.taskQueue });
    logger.info(`Worker polling task queue "${resolved.taskQueue}" on ${resolved.address} (namespace ${resolved.namespace})`, {
      metrics: options.metrics ? `http://${options.metrics}/metrics` : undefined,
    });
    options.onReady?.({ taskQueue: resolved.taskQueue, address: resolved.address, namespace: resolved.namespace });
    await worker.run(); // Runtime's shutdown signals (SIGINT, SIGTERM) drain it gracefully.
  } finally {
    await connection.close();
  }
}

function safeCredentialsKind(): string | undefined {
  try {
    return credentialsFromEnv(process.env)?.kind;
  } catch {
    return undefined; // Reported with the account's first page, where it names the account.
  }
}
