/** `budget`: change a running account's rate budget; its exports pace to it at once. */
import { Option, type Command } from 'commander';
import { parseRateLimit } from '../../client/request';
import { RATE_BUCKET_NAMES, type RateBucket } from '../../zendesk/endpoints';
import { accountOf, print, withClient, type Globals } from '../context';

export function register(program: Command, global: Globals): void {
  program
    .command('budget')
    .argument('<N/SECONDS>', 'the new budget, e.g. 30/60 after buying High Volume')
    .description("change the rate budget of an account's running exports")
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .addOption(new Option('--bucket <bucket>', 'the rate bucket').choices(RATE_BUCKET_NAMES).default('incremental-exports'))
    .action(async (text: string, flags: { account?: string; bucket: RateBucket }) => {
      const budget = parseRateLimit(text);
      const account = accountOf(flags);
      await withClient(global(), async (client) => {
        await client.setBudget(account, flags.bucket, budget);
        print(`Account ${account}: ${flags.bucket} now ${budget.requests} requests per ${budget.seconds}s.`);
      });
    });
}
