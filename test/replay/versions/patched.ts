/**
 * Version N+1 of the workflows, as a deploy would bring it: the export now records the code version
 * in its memo when a run starts, a new command. It is guarded by `patched()`, so runs already under
 * way (their histories have no marker) replay as before and carry on; new runs take the new path.
 */
import { patched, upsertMemo } from '@temporalio/workflow';
import { exportResource as versionN } from '../../../workflows/export-resource';
import type { ExportInput, ExportResult } from '../../../workflows/types';

export { accountCoordinator } from '../../../workflows/account-coordinator';

export async function exportResource(input: ExportInput): Promise<ExportResult> {
  if (patched('memo-code-version')) upsertMemo({ workflowCodeVersion: 2 });
  return versionN(input);
}
