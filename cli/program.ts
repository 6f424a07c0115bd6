/** The command-line program: global options, and each command from its own module. */
import { Command } from 'commander';
import type { GlobalOptions } from './context';
import * as accounts from './commands/accounts';
import * as budget from './commands/budget';
import * as codecServer from './commands/codec-server';
import * as control from './commands/control';
import * as endpoints from './commands/endpoints';
import * as list from './commands/list';
import * as run from './commands/run';
import * as simulator from './commands/simulator';
import * as status from './commands/status';
import * as watch from './commands/watch';
import * as worker from './commands/worker';

export function buildProgram(): Command {
  const program = new Command('zendesk-export')
    .description('Copy a Zendesk account out through the Incremental Export API, durably, on Temporal.')
    .option('--address <host:port>', 'Temporal server (default: $TEMPORAL_ADDRESS or the env-config profile, else localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")')
    .option('--profile <name>', 'Temporal env-config profile (default: $TEMPORAL_PROFILE)')
    .option('--tls', 'connect with TLS (implied by TEMPORAL_API_KEY)')
    .option('--task-queue <name>', 'task queue of the workers (default: $ZENDESK_EXPORT_TASK_QUEUE or zendesk-export)')
    .option('--json', 'machine-readable output, one JSON object per line (errors too, on stderr)')
    .option('--debug', 'print stack traces of unexpected errors')
    // Usage mistakes become one sentence and exit 2 in main(), like every other bad input.
    .exitOverride()
    // Each command's --help shows the connection options too: they go before or after the command.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Zendesk credentials belong to the worker (ZENDESK_SUBDOMAIN with ZENDESK_EMAIL + ZENDESK_API_TOKEN,
ZENDESK_OAUTH_TOKEN, or ZENDESK_OAUTH_CLIENT_ID with ZENDESK_OAUTH_REFRESH_TOKEN / ZENDESK_OAUTH_CLIENT_SECRET);
ZENDESK_BASE_URL points it at a proxy or simulator. Exit codes: 0 done, 1 export failed, 2 bad input or
unreachable service, 130 detached with Ctrl-C (the export goes on).

Examples:
  zendesk-export worker
  zendesk-export run tickets --account acme --start-time 2024-01-01
  zendesk-export start all --account acme --start-time 0 --rate-limit 30/60 --follow 600
  zendesk-export status tickets --account acme
  zendesk-export cancel all --account acme`,
    );
  const global = () => program.opts<GlobalOptions>();
  for (const command of [worker, run, status, watch, list, control, budget, endpoints, accounts]) command.register(program, global);
  simulator.register(program);
  codecServer.register(program);
  return program;
}
