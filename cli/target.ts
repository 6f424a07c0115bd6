/** How the CLI names an export back to the user: the arguments that would name it again. */
import { parseExportWorkflowId } from '../workflows/ids';
import { RESOURCE_SPECS } from '../zendesk/endpoints';

/** `tickets --account acme` (plus `--mode time` or `--sample` off the default endpoint), or `--id <id>`. */
export function targetArgs(workflowId: string): string {
  const parts = parseExportWorkflowId(workflowId);
  if (!parts) return `--id ${workflowId}`;
  const preferred = RESOURCE_SPECS[parts.resource].endpoints[0];
  const extra = parts.endpoint === 'sample' ? ' --sample' : parts.endpoint === preferred ? '' : ' --mode time';
  return `${parts.resource} --account ${parts.account}${extra}`;
}

/** The resource an export ID names, for progress lines. */
export function resourceOf(workflowId: string): string {
  return parseExportWorkflowId(workflowId)?.resource ?? workflowId;
}
