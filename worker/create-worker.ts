/**
 * The export worker: the workflows, and the activities with this process's credentials. A testable
 * factory; `worker/main.ts` is the process around it.
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Runtime, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityOptions } from '../activities';
import type { PageEvent } from '../activities/fetch-pages';

export interface ExportWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  activities?: ActivityOptions;
  /**
   * The workflow code, bundled. @default the bundle `npm run build` made (dist/workflow-bundle.js), else
   * the workflows bundled now (a few seconds).
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Encrypts every payload (codecDataConverter from the codec keys); its clients need the same keys.
   * @default none: payloads are plain
   */
  dataConverter?: WorkerOptions['dataConverter'];
  /** Extra Worker options (concurrency, shutdown times). */
  worker?: Partial<WorkerOptions>;
}

/** The workflows module, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Where `npm run build` writes the workflow bundle: beside the compiled workflows. */
export const PREBUILT_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');

/**
 * Activity slots: a batch holds one while it rests between its follow polls (an hour at most) or its
 * rounds (5 minutes), so there are enough for every export a worker may hold.
 */
export const ACTIVITY_SLOTS = 20_000;

/** Batches may rest while the worker holds fewer than its slots less this part: the rest are kept for batches that send. */
const SENDING_RESERVE = 0.1;

/** How many batches a worker with `slots` activity slots may hold and still let one rest. */
export function restingBatches(slots: number): number {
  return Math.floor(slots * (1 - SENDING_RESERVE));
}

export async function createExportWorker(options: ExportWorkerOptions): Promise<Worker> {
  const observe = exportMetrics();
  const prebuilt = !options.workflowBundle && existsSync(PREBUILT_BUNDLE_PATH) && WORKFLOWS_PATH.endsWith('.js');
  // Batches resting until a follow poll listen for the stop: one listener each.
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    dataConverter: options.dataConverter,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : prebuilt
        ? { workflowBundle: { codePath: PREBUILT_BUNDLE_PATH } }
        : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      ...options.activities,
      stopping: stopping.signal,
      restingBatches: restingBatches(options.worker?.maxConcurrentActivityTaskExecutions ?? ACTIVITY_SLOTS),
      observe: (event) => {
        observe(event);
        options.activities?.observe?.(event);
      },
    }),
    // A batch finishes its page in flight when the worker stops, and reports: a deploy loses nothing.
    shutdownGraceTime: '30 seconds',
    // Heartbeats reach the server every half second (not at 80% of the timeout), so a pause or a
    // shutdown reaches a batch within half a second, and a slow moment never looks like a dead worker.
    maxHeartbeatThrottleInterval: '500 ms',
    maxConcurrentActivityTaskExecutions: ACTIVITY_SLOTS,
    ...options.worker,
  });
  // A resting batch has no page in flight: it reports as the stop begins, not after the grace time.
  const shutdown = worker.shutdown.bind(worker);
  worker.shutdown = () => {
    stopping.abort();
    shutdown();
  };
  return worker;
}

/** Records, pages, 429s and Retry-After waits per account and resource, on the runtime's meter. */
function exportMetrics(): (event: PageEvent) => void {
  const meter = Runtime.instance().metricMeter;
  const records = meter.createCounter('zendesk_export_records', 'records', 'Records written');
  const pages = meter.createCounter('zendesk_export_pages', 'pages', 'Pages fetched and written');
  const pageSeconds = meter.createHistogram('zendesk_export_page_duration', 'float', 's', 'Fetch and write time of a page');
  const limited = meter.createCounter('zendesk_export_rate_limited', 'responses', 'HTTP 429 answers');
  const waited = meter.createCounter('zendesk_export_retry_after', 's', 'Seconds of Retry-After asked for');
  return (event) => {
    const tags = { account: event.account, resource: event.resource };
    if (event.kind === 'page') {
      records.add(event.records, tags);
      pages.add(1, tags);
      pageSeconds.record(event.seconds, tags);
    } else {
      limited.add(1, tags);
      waited.add(event.retryAfterSeconds, tags);
    }
  };
}
