/** A believable batch result for unit tests of the rules that read one. */
import type { BatchResult } from '../../contract/page-activity';
import type { ExportPosition } from '../../zendesk/paging';

/** Two pages, 150 records, stopped by the budget, ending at `at`; `extra` overrides any field. */
export const batchResult = (at: ExportPosition, extra: Partial<BatchResult> = {}): BatchResult => ({
  at,
  pages: 2,
  records: 150,
  repeats: 3,
  sideloaded: 7,
  sentAgoMs: [3_000, 1_000],
  stop: 'budget',
  notes: [],
  ...extra,
});
