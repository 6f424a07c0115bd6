/** `simulator`: the Zendesk-compatible simulator, with its own flags. */
import type { Command } from 'commander';
import { UserError } from '../../client/errors';

export function register(program: Command): void {
  program
    .command('simulator')
    .description('run the Zendesk-compatible simulator (see: zendesk-export simulator --help)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { main } = await import('../../simulator/cli');
      // Its flags are checked before it starts: a mistake there is the user's, as everywhere else.
      await main(args).catch((err: Error) => {
        throw /^(--|Unknown option)/.test(err.message) ? new UserError(`${err.message} (see: zendesk-export simulator --help)`) : err;
      });
    });
}
