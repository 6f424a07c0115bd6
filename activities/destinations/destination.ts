/** Where the records of a page go. Writing the same page again replaces it: never twice. */
import type { EndpointId, Resource } from '../../zendesk/endpoints';
import type { Position, ZendeskRecord } from '../../zendesk/page';

export interface PageWrite {
  account: string;
  exportId: string;
  resource: Resource;
  endpoint: EndpointId;
  /** The export's first start_time; with the page number it names the page for good. */
  origin: number;
  pageNumber: number;
  records: readonly ZendeskRecord[];
  sideloads: Readonly<Record<string, readonly ZendeskRecord[]>>;
  /** Where the export stands once this page is written (a checkpoint for destinations that keep one). */
  next: Position;
}

export interface PageSink {
  /** Idempotent by (exportId, pageNumber): a retry of the same page overwrites, never appends. */
  writePage(page: PageWrite): Promise<void>;
  close(): Promise<void>;
}

/** A destination that cannot take the page now (full disk, read-only folder): retried, never skipped. */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}
