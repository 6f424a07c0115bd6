/** Where the records of a page go. Writing the same page again replaces it: never twice. */
import type { EndpointId, Resource } from '../../zendesk/endpoints';
import type { PageRecord } from '../../zendesk/page';
import type { ExportPosition } from '../../zendesk/paging';
import type { BatchCheckpoint } from '../../contract/page-activity';

/**
 * The export a page is written for, as the worker knows it: the workflow ID from the activity's own
 * context and the first run of the export's chain of runs from the workflow's info, both named by the
 * Temporal server, never by a client. A destination writes an origin's files for one owner only.
 */
export interface ExportOwner {
  workflowId: string;
  /** Absent only in a batch that a 0.2.1 worker scheduled (before exports were owned). */
  firstRunId?: string;
}

export interface PageWrite {
  account: string;
  /** Who writes the page: another owner's files of the same origin are never replaced or deleted. */
  owner: ExportOwner;
  exportId: string;
  resource: Resource;
  /** The endpoint this page came from. */
  endpoint: EndpointId;
  /** Names this export's pages for good; with the page number it names the page. */
  origin: string;
  pageNumber: number;
  records: readonly PageRecord[];
  sideloads: Readonly<Record<string, readonly PageRecord[]>>;
  /** Where the export stands once this page is written. */
  at: ExportPosition;
  /** The batch's progress once this page is written, kept with the page. */
  checkpoint: BatchCheckpoint;
  /** This page reached the end of the stream: the export has caught up with Zendesk. */
  endOfStream: boolean;
}

/** Which export's checkpoint to read. */
export type CheckpointKey = Pick<PageWrite, 'account' | 'resource' | 'exportId' | 'origin' | 'owner'>;

/** How a batch ended badly, as a destination that keeps a status table records it (a page's write records the rest). */
export type BatchTrouble = 'retrying' | 'failed' | 'needs-reauthorization';

/** A place pages are written to: a folder of NDJSON files, a Postgres database. */
export interface Destination {
  /** Idempotent by (exportId, origin, pageNumber): a retry of the same page overwrites, never appends. */
  writePage(page: PageWrite): Promise<void>;
  /** The batch's progress kept with the last page written, as it was written (the caller checks it); none of another owner's. */
  readCheckpoint(key: CheckpointKey): Promise<unknown>;
  /** Where analysts read export status (Postgres), the batch's trouble and its one-sentence reason; elsewhere absent. */
  recordTrouble?(key: CheckpointKey, trouble: BatchTrouble, reason: string): Promise<void>;
  close(): Promise<void>;
}

/** A destination that cannot take the page now (full disk, a database down): retried, never skipped. */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** A record the destination will never take (Postgres refuses its JSON): the export stops, naming it. */
export class DestinationRecordError extends Error {
  override readonly name = 'DestinationRecordError';
}

/** A destination reference the worker's configuration does not allow: a configuration mistake, not retried. */
export class DestinationConfigError extends Error {
  override readonly name = 'DestinationConfigError';
}
