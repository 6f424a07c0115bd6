/**
 * The worker process: runs exports until SIGINT or SIGTERM, then lets each run of pages finish its
 * page in flight and report, and stops. Zendesk credentials come from this process's environment (or
 * ZENDESK_CREDENTIALS_FILE) and never leave it. Takes resolved options: the CLI reads flags and the
 * environment.
 */
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type LogLevel, type NativeConnectionOptions } from '@temporalio/worker';
import type { ActivityOptions } from '../activities';
import { API_TOKEN_SHUTDOWN } from '../zendesk/auth';
import { credentialsFromEnv } from '../zendesk/credentials';
import { createExportWorker } from './create-worker';

export interface WorkerMainOptions {
  /** Where Temporal is, resolved from flags, environment and env-config profiles. */
  temporal: { connectionOptions: NativeConnectionOptions; address: string; namespace: string; taskQueue: string };
  /** host:port for Prometheus metrics at /metrics (the SDK's and the export's). */
  metrics?: string;
  logLevel?: LogLevel;
  activities?: ActivityOptions;
  /** Told once the worker polls. */
  onReady?: (info: { taskQueue: string; address: string; namespace: string; startMs: number }) => void;
}

/** Temporal could not be reached: one sentence for the user. */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

export async function runWorker(options: WorkerMainOptions): Promise<void> {
  const started = Date.now();
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
  const env = options.activities?.env ?? process.env;
  if (env.ZENDESK_REGISTRY_URL) {
    logger.info('Serving the accounts of the account registry (ZENDESK_REGISTRY_URL); ZENDESK_* credentials and ZENDESK_CREDENTIALS_FILE are not used.');
  } else if (safeCredentialsKind(env) === 'api_token') {
    logger.warn(`Zendesk switches API tokens off on ${API_TOKEN_SHUTDOWN}; move this worker to OAuth (ZENDESK_OAUTH_CLIENT_ID ...).`);
  }
  const { temporal } = options;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(temporal.connectionOptions);
  } catch {
    throw new TemporalUnreachableError(`Cannot reach Temporal at ${temporal.address}: start a server (npm start, or temporal server start-dev) or set TEMPORAL_ADDRESS.`);
  }
  try {
    const worker = await createExportWorker({ connection, namespace: temporal.namespace, taskQueue: temporal.taskQueue, activities: options.activities });
    logger.info(`Worker polling task queue "${temporal.taskQueue}" on ${temporal.address} (namespace ${temporal.namespace})`, {
      metrics: options.metrics ? `http://${options.metrics}/metrics` : undefined,
      startMs: Date.now() - started,
    });
    options.onReady?.({ taskQueue: temporal.taskQueue, address: temporal.address, namespace: temporal.namespace, startMs: Date.now() - started });
    await worker.run(); // Runtime's shutdown signals (SIGINT, SIGTERM) drain it gracefully.
  } finally {
    await connection.close();
  }
}

function safeCredentialsKind(env: Record<string, string | undefined>): string | undefined {
  try {
    return credentialsFromEnv(env)?.kind;
  } catch {
    return undefined; // Reported with the account's first page, where it names the account.
  }
}
