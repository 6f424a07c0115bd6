/** The worker, for applications that run exports inside their own process (`zendesk-export/worker`). */
export { createExportWorker, WORKFLOWS_PATH, type ExportWorkerOptions } from './create-worker';
export { runWorker, type WorkerMainOptions } from './main';
export type { ActivityOptions } from '../activities';
export type { DestinationConfig } from '../activities/destinations';
export { codecDataConverter, codecKeysFromEnv, parseCodecKeys, type CodecKeys } from '../codec';
