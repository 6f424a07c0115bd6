/** `zendesk-export worker`: runs exports with this process's credentials until SIGINT/SIGTERM. */
import { Option, type Command } from 'commander';
import { destinationConfigFromEnv } from '../../activities/destinations';
import { resolveTemporalOptions } from '../../client/connection';
import { UnavailableError } from '../../client/errors';
import type { Globals } from '../context';

export function register(program: Command, global: Globals): void {
  program
    .command('worker')
    .description('run a worker: it does the exports (stop with Ctrl-C; each run of pages finishes its page in flight)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics')
    .option('--output-root <dir>', 'NDJSON exports may write only inside this folder (default: $ZENDESK_EXPORT_OUTPUT_ROOT or ./export)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'))
    .action(async (flags: { metrics?: string; outputRoot?: string; logLevel?: 'INFO' }) => {
      const temporal = resolveTemporalOptions(global());
      const env = flags.outputRoot ? { ...process.env, ZENDESK_EXPORT_OUTPUT_ROOT: flags.outputRoot } : process.env;
      const destinations = destinationConfigFromEnv(env); // A bad Postgres target is refused now, not at the first page.
      // Loaded here: the native worker runtime is for this command only, not every CLI call.
      const { runWorker, TemporalUnreachableError } = await import('../../worker/main');
      await runWorker({ temporal, metrics: flags.metrics, logLevel: flags.logLevel, activities: { env, destinations } }).catch((err: unknown) => {
        throw err instanceof TemporalUnreachableError ? new UnavailableError(err.message) : err;
      });
    });
}
