/**
 * The same change as patched.ts without `patched()`: a new command at the start of every run. Replayed
 * against a history made by version N, its first command no longer matches the history: this is the
 * non-determinism the replay tests exist to catch before a deploy.
 */
import { upsertMemo } from '@temporalio/workflow';
import { exportResource as versionN } from '../../../workflows/export-resource';
import type { ExportInput, ExportResult } from '../../../workflows/types';

export { accountCoordinator } from '../../../workflows/account-coordinator';

export async function exportResource(input: ExportInput): Promise<ExportResult> {
  upsertMemo({ workflowCodeVersion: 2 });
  return versionN(input);
}
