/**
 * zendesk-export: durable Zendesk Incremental Exports on Temporal.
 *
 * ```ts
 * import { ExportClient } from 'zendesk-export';
 *
 * const exports = await ExportClient.connect(); // TEMPORAL_ADDRESS, env-config profiles, or localhost:7233
 * const handle = await exports.start({ account: 'acme', resource: 'tickets', startTime: '2024-01-01', destination: './export' });
 * console.log(await handle.progress());          // position, pages, records, status
 * const { outcome, state } = await handle.result();
 * await exports.close();
 * ```
 * A worker (`zendesk-export worker`, or `createExportWorker` from `zendesk-export/worker`) must run
 * somewhere with the account's Zendesk credentials; the client never sees them.
 */
export { ExportClient, ExportHandle, type ExportClientOptions, type ExportSummary, type TemporalStatus } from './export-client';
export { UserError, UnavailableError } from './errors';
export { toExportInput, parseStartTime, parseRateLimit, parseDestination, parseAccount, type ExportRequest } from './request';
export { resolveTemporalOptions, type TemporalOptions } from './connection';
export { codecDataConverter, codecKeysFromEnv, parseCodecKeys, AesGcmCodec, type CodecKeys } from '../codec';
export { exportWorkflowId, parseExportWorkflowId, coordinatorWorkflowId, DEFAULT_TASK_QUEUE, SEARCH_ATTRIBUTE_NAMES } from '../workflows/ids';
export type { ExportInput, ExportResult, ExportState, ExportStatus } from '../workflows/types';
export type { DestinationRef } from '../contract/page-activity';
export { ENDPOINTS, RESOURCES, RATE_BUCKETS, type EndpointId, type Resource, type RateBudget, type RateBucket } from '../zendesk/endpoints';
export type { Position, PageOptions } from '../zendesk/page';
export type { ExportPosition } from '../zendesk/paging';
