/**
 * The worker process: runs exports until SIGINT or SIGTERM, then lets each batch finish its
 * page in flight and report, and stops. Zendesk credentials come from this process's environment (or
 * ZENDESK_CREDENTIALS_FILE) and never leave it. Takes resolved options: the CLI reads flags and the
 * environment.
 */
import { setFlagsFromString } from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type LogLevel, type NativeConnectionOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { ActivityOptions } from '../activities';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/ids';
import { API_TOKEN_SHUTDOWN } from '../zendesk/auth';
import { credentialsFromEnv, envAccounts } from '../zendesk/credentials';
import { createExportWorker } from './create-worker';

export interface WorkerMainOptions {
  /** Where Temporal is, resolved from flags, environment and env-config profiles. */
  temporal: { connectionOptions: NativeConnectionOptions; address: string; namespace: string; taskQueue: string; dataConverter?: DataConverter };
  /** host:port for Prometheus metrics at /metrics (the SDK's and the export's). */
  metrics?: string;
  logLevel?: LogLevel;
  /**
   * Workflows kept in memory between their tasks. Each running export is one, and each account's coordinator
   * another; one that falls out is replayed from its history at its next task, which costs far more than keeping it.
   * @default the SDK's, from the heap size
   */
  cachedWorkflows?: number;
  activities?: ActivityOptions;
  /** Told once the worker polls. */
  onReady?: (info: { taskQueue: string; address: string; namespace: string; startMs: number }) => void;
}

/**
 * Stack frames kept by the contexts the process creates from then on: the workflow thread's, not the
 * activities' (theirs keep Node's 10). The SDK records the stack of every promise a workflow creates,
 * for the stack trace query (the Temporal UI's "Call Stack"); 5 frames are the hook's own two and three
 * of the workflow's, which say where it waits; a follow poll then costs the worker 8–11% less CPU than
 * at Node's 10 (BENCHMARKS.md). An operator's own `--stack-trace-limit` (node's flag, or NODE_OPTIONS) stands.
 */
export const WORKFLOW_STACK_FRAMES = 5;

function limitWorkflowStackFrames(): void {
  const own = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => arg.includes('--stack-trace-limit'));
  if (!own) setFlagsFromString(`--stack-trace-limit=${WORKFLOW_STACK_FRAMES}`);
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
    const meta = entry.meta ? ` ${JSON.stringify(entry.meta, errorsAsText)}` : '';
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
  const kind = env.ZENDESK_REGISTRY_URL ? undefined : safeCredentialsKind(env);
  if (env.ZENDESK_REGISTRY_URL) {
    logger.info('Serving the accounts of the account registry (ZENDESK_REGISTRY_URL); ZENDESK_* credentials and ZENDESK_CREDENTIALS_FILE are not used.');
  } else if (kind === 'api_token') {
    logger.warn(`Zendesk switches API tokens off on ${API_TOKEN_SHUTDOWN}; move this worker to OAuth (ZENDESK_OAUTH_CLIENT_ID ...).`);
  }
  if (kind && envAccounts(env).length === 0) {
    logger.warn('The ZENDESK_* credentials serve no account: set ZENDESK_SUBDOMAIN (or ZENDESK_ACCOUNTS) to the account they are for, or every export using them fails.');
  }
  const { temporal } = options;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(temporal.connectionOptions);
  } catch {
    throw new TemporalUnreachableError(`Cannot reach Temporal at ${temporal.address}: start a server (npm start, or temporal server start-dev) or set TEMPORAL_ADDRESS.`);
  }
  try {
    await warnOfMissingSearchAttributes(connection, temporal.namespace, logger);
    limitWorkflowStackFrames(); // Before the worker starts its workflow thread.
    const worker = await createExportWorker({ connection, namespace: temporal.namespace, taskQueue: temporal.taskQueue, dataConverter: temporal.dataConverter, activities: options.activities, worker: options.cachedWorkflows ? { maxCachedWorkflows: options.cachedWorkflows } : undefined });
    logger.info(`Worker polling task queue "${temporal.taskQueue}" on ${temporal.address} (namespace ${temporal.namespace})`, {
      metrics: options.metrics ? `http://${options.metrics}/metrics` : undefined,
      startMs: Date.now() - started,
      payloads: temporal.dataConverter ? 'encrypted' : 'plain',
    });
    options.onReady?.({ taskQueue: temporal.taskQueue, address: temporal.address, namespace: temporal.namespace, startMs: Date.now() - started });
    await worker.run(); // Runtime's shutdown signals (SIGINT, SIGTERM) drain it gracefully.
  } finally {
    await connection.close();
  }
}

/**
 * A namespace without the project's search attributes (a plain `temporal server start-dev`, a new
 * cluster) runs exports all the same, but the UI cannot filter them: say so once, with the fix. A
 * server that does not let this worker list them is not asked again.
 */
async function warnOfMissingSearchAttributes(connection: NativeConnection, namespace: string, logger: DefaultLogger): Promise<void> {
  let registered: string[];
  try {
    registered = Object.keys((await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {});
  } catch {
    return;
  }
  const missing = Object.values(SEARCH_ATTRIBUTE_NAMES).filter((name) => !registered.includes(name));
  if (!missing.length) return;
  logger.warn(
    `Namespace ${namespace} lacks the search attributes ${missing.join(', ')}: exports run, but the Temporal UI cannot filter them. ` +
      `Register each with: temporal operator search-attribute create --namespace ${namespace} --type Keyword --name <name> ` +
      `(or start the dev server with --search-attribute <name>=Keyword, as npm start does).`,
  );
}

/** Errors in log metadata as their type and message (and cause's), where JSON would print `{}`. */
function errorsAsText(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { cause } = value as { cause?: unknown };
  return { type: value.name, message: value.message, ...(cause === undefined ? {} : { cause }) };
}

function safeCredentialsKind(env: Record<string, string | undefined>): string | undefined {
  try {
    return credentialsFromEnv(env)?.kind;
  } catch {
    return undefined; // Reported with the account's first page, where it names the account.
  }
}
