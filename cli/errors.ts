/** Errors the CLI turns into one sentence and an exit code. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { UserError } from '../client/errors';
import type { ExportClient } from '../client/export-client';
import { parseExportWorkflowId } from '../workflows/ids';

/** A missing export as a sentence, for commands that name one. */
export function notFound(workflowId: string) {
  return (err: unknown): never => {
    if (err instanceof WorkflowNotFoundError) throw new UserError(`There is no export ${workflowId}.`);
    throw err;
  };
}

/** None of the exports named exists: the one, or the account's (`all`). */
export function noExport(ids: readonly string[]): UserError {
  const account = parseExportWorkflowId(ids[0] ?? '')?.account;
  return new UserError(ids.length === 1 || !account ? `There is no export ${ids.join(', ')}.` : `There is no export of account ${account}.`);
}

/**
 * Does `act` to one export, or to each of several (`all`) that exists, at once: there a refusal (not
 * running, say) is one line on stderr and the others go on; nothing done at all is exit 2.
 */
export async function eachExport(client: ExportClient, ids: readonly string[], what: string, act: (id: string) => Promise<void>): Promise<void> {
  if (ids.length === 1) return act(ids[0]!);
  const outcomes = await Promise.all(
    ids.map(async (id) => {
      if (!(await client.describeRun(id))) return 'absent';
      try {
        await act(id);
        return 'done';
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        process.stderr.write(`${err.message}\n`);
        return 'refused';
      }
    }),
  );
  if (outcomes.every((o) => o === 'absent')) throw noExport(ids);
  if (!outcomes.includes('done')) throw new UserError(`Nothing to ${what}.`);
}
