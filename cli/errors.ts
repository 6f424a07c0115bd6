/** Errors the CLI turns into one sentence and an exit code. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { UserError } from '../client/errors';

/** A missing export as a sentence, for commands that name one. */
export function notFound(workflowId: string) {
  return (err: unknown): never => {
    if (err instanceof WorkflowNotFoundError) throw new UserError(`There is no export ${workflowId}.`);
    throw err;
  };
}
