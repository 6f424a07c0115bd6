/**
 * An export's share as its coordinator holds it. A signal cannot name its sender, so a `setShare` from
 * any client only prompts the export to ask: this local activity queries the coordinator (through the
 * worker's own client) and the export takes the share and budget the coordinator's state gives it.
 */
import { Context } from '@temporalio/activity';
import { defaultBudget, type RateBudget } from '../zendesk/endpoints';
import { coordinatorStateQuery } from '../workflows/messages';

export interface ShareQuestion {
  coordinatorId: string;
  exportId: string;
}

/** The export's share and budget in its coordinator's state, or undefined when the coordinator does not count it. */
export async function coordinatorShare(question: ShareQuestion): Promise<{ share: number; budget: RateBudget } | undefined> {
  const state = await Context.current().client.workflow.getHandle(question.coordinatorId).query(coordinatorStateQuery);
  const member = Object.hasOwn(state.members, question.exportId) ? state.members[question.exportId] : undefined;
  if (!member) return undefined;
  return { share: member.share, budget: state.budgets[member.bucket] ?? defaultBudget(member.bucket) };
}
