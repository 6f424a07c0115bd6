/** `zendesk-export worker`: runs exports with this process's credentials until SIGINT/SIGTERM. */
import { Option, type Command } from 'commander';
import { destinationConfigFromEnv } from '../../activities/destinations';
import { resolveTemporalOptions } from '../../client/connection';
import { UnavailableError, UserError } from '../../client/errors';
import { wholeNumber, type Globals } from '../context';

export function register(program: Command, global: Globals): void {
  program
    .command('worker')
    .description('run a worker: it does the exports (stop with Ctrl-C; each batch finishes its page in flight)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics')
    .option('--output-root <dir>', 'NDJSON exports may write only inside this folder (default: $ZENDESK_EXPORT_OUTPUT_ROOT or ./export)')
    .option(
      '--cached-workflows <n>',
      'workflows kept in memory between their tasks: give one per running export plus one per account (default: from the heap, about 2,300 with 4 GiB)',
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'))
    .addHelpText(
      'after',
      `
Zendesk credentials, from this process's environment (never from the CLIs that start exports):
  ZENDESK_SUBDOMAIN=acme (or ZENDESK_ACCOUNTS=acme,other): the accounts they serve, required
  ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_REFRESH_TOKEN (+ ZENDESK_OAUTH_CLIENT_SECRET), with ZENDESK_TOKEN_STORE=<file>
  ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_CLIENT_SECRET, or ZENDESK_OAUTH_TOKEN
  ZENDESK_EMAIL + ZENDESK_API_TOKEN (switched off by Zendesk on 2027-04-30)
  any secret as <NAME>_FILE=<path>; several accounts: ZENDESK_CREDENTIALS_FILE=<json file>
  ZENDESK_BASE_URL: a proxy or the simulator instead of https://<account>.zendesk.com
A fleet of workers serving many accounts shares an account registry instead (zendesk-export accounts --help):
  ZENDESK_REGISTRY_URL=postgres://user@host/db (or the name of a Postgres target), with PGPASSWORD
  ZENDESK_REGISTRY_KEY_FILE=<file> (or ZENDESK_REGISTRY_KEY): the key its secrets are sealed with
Postgres targets: ZENDESK_EXPORT_POSTGRES[_<NAME>]=postgres://user@host/db, with PGPASSWORD;
  ZENDESK_EXPORT_HISTORY=default,<name>: the targets that keep every version (…_versions tables).
S3 targets: ZENDESK_EXPORT_S3[_<NAME>]=s3://bucket/prefix (?region=…&endpoint=…&force-path-style=true&gzip=true),
  with AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY or AWS_PROFILE.
Integrity and limits, the same on every worker of a deployment:
  ZENDESK_EXPORT_SEAL_KEY_FILE=<file> (or ZENDESK_EXPORT_SEAL_KEY): the key results and shares are sealed with
    (at least 32 characters; unset, derived from the worker's secrets)
  ZENDESK_RATE_CEILING=incremental-exports=30/60,…: the operator's ceiling per rate bucket (default: Zendesk's limits)
  ZENDESK_EXPORT_CODEC_KEYS_FILE=<file> (or ZENDESK_EXPORT_CODEC_KEYS=<id>=<base64 key>,…): encrypt payloads in history
  ZENDESK_MAX_ANSWERS_MB: the answers held in memory at once, across all batches`,
    )
    .action(async (flags: { metrics?: string; outputRoot?: string; logLevel?: 'INFO'; cachedWorkflows?: string }) => {
      const cachedWorkflows = wholeNumber('--cached-workflows', flags.cachedWorkflows);
      if (cachedWorkflows !== undefined && cachedWorkflows < 2) throw new UserError('--cached-workflows takes at least 2.');
      const temporal = resolveTemporalOptions(global());
      const env = flags.outputRoot ? { ...process.env, ZENDESK_EXPORT_OUTPUT_ROOT: flags.outputRoot } : process.env;
      const destinations = destinationConfigFromEnv(env); // A bad Postgres or S3 target is refused now, not at the first page.
      // Loaded here: the native worker runtime is for this command only, not every CLI call.
      const { runWorker, TemporalUnreachableError } = await import('../../worker/main');
      await runWorker({ temporal, metrics: flags.metrics, logLevel: flags.logLevel, cachedWorkflows, activities: { env, destinations } }).catch((err: unknown) => {
        throw err instanceof TemporalUnreachableError ? new UnavailableError(err.message) : err;
      });
    });
}
