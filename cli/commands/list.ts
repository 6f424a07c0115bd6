/** `list`: an account's exports (all accounts without --account). */
import type { Command } from 'commander';
import { parseAccount } from '../../client/request';
import { print, withClient, type Globals } from '../context';
import { counted } from '../progress';

export function register(program: Command, global: Globals): void {
  program
    .command('list')
    .description("an account's exports (all accounts without --account)")
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .action(async (flags: { account?: string }) => {
      const given = flags.account ?? process.env.ZENDESK_SUBDOMAIN;
      const account = given === undefined ? undefined : parseAccount(given); // Checked before it reaches a query.
      await withClient(global(), async (client) => {
        const rows = await client.list(account);
        for (const r of rows) {
          if (global().json) print(JSON.stringify(r));
          else {
            const counts = r.state ? `  ${counted(r.state.progress.records, 'record')} in ${counted(r.state.progress.pages, 'page')}` : '';
            // The one failure an admin must act on outside Temporal: the account's grant is lost.
            const reauthorize = r.state?.status === 'needs-reauthorization' ? '  needs re-authorization (zendesk-export accounts connect)' : '';
            print(`${r.workflowId.padEnd(60)} ${r.temporalStatus.padEnd(12)} started ${r.startTime.toISOString()}${counts}${reauthorize}`);
          }
        }
        if (!rows.length && !global().json) print('No exports.');
      });
    });
}
