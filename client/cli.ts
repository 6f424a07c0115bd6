/**
 * `zendesk-export`: parses argv, calls the client library, prints. Known mistakes print one sentence
 * and exit 2; a failed export exits 1; anything unexpected says so, with the stack only under --debug.
 */
import { Command, CommanderError, Option } from 'commander';
import { ENDPOINTS, RESOURCES, chooseEndpoint, isResource, type Paging, type Resource } from '../zendesk/endpoints';
import { exportWorkflowId } from '../workflows/ids';
import { ExportClient, type ExportHandle } from './export-client';
import { checkOutputFolder, probeZendesk } from './preflight';
import { progressLine } from './progress';
import { EXIT, failureMessage, watch } from './watch';
import { parseRateLimit, toExportInput, UserError, type ExportRequest } from './request';

interface GlobalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue?: string;
  tls?: boolean;
  json?: boolean;
  debug?: boolean;
}

interface ExportFlags {
  account?: string;
  mode?: Paging;
  sample?: boolean;
  startTime?: string;
  cursor?: string;
  out: string;
  dest?: string;
  rateLimit?: string;
  include?: string;
  perPage?: string;
  excludeDeleted?: boolean;
  supportTypeScope?: 'all' | 'agent' | 'ai_agent';
  follow?: string | boolean;
  probe: boolean;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

function account(flags: { account?: string }): string {
  const value = flags.account ?? process.env.ZENDESK_SUBDOMAIN;
  if (!value) throw new UserError('Name the Zendesk account: set ZENDESK_SUBDOMAIN or pass --account <subdomain>.');
  return value;
}

/** `tickets users`, or `all` for the four resources. */
function resourcesOf(names: readonly string[]): Resource[] {
  const list = names.length === 0 || names.includes('all') ? [...RESOURCES] : names;
  for (const name of list) {
    if (!isResource(name)) throw new UserError(`Unknown resource "${name}". Choose one of: ${RESOURCES.join(', ')}, or all.`);
  }
  return list as Resource[];
}

function requestsOf(names: readonly string[], flags: ExportFlags): ExportRequest[] {
  const resources = resourcesOf(names);
  const requests: ExportRequest[] = resources.map((resource) => ({
    account: account(flags),
    resource,
    // With several resources, a mode applies where the resource has it (organizations are time-only).
    mode: resources.length > 1 && flags.mode && 'error' in chooseEndpoint(resource, { mode: flags.mode }) ? undefined : flags.mode,
    sample: flags.sample,
    startTime: flags.startTime,
    cursor: flags.cursor,
    perPage: flags.perPage === undefined ? undefined : Number(flags.perPage),
    include: flags.include?.split(',').map((s) => s.trim()).filter(Boolean),
    excludeDeleted: flags.excludeDeleted && resource === 'tickets' ? true : undefined,
    supportTypeScope: flags.supportTypeScope,
    destination: flags.dest ?? flags.out,
    rateLimit: flags.rateLimit ? parseRateLimit(flags.rateLimit) : undefined,
    followIntervalSeconds: flags.follow === undefined || flags.follow === false ? undefined : flags.follow === true ? 300 : Number(flags.follow),
  }));
  for (const r of requests) toExportInput(r); // Every mistake is reported before anything connects.
  return requests;
}

/** The workflow ID of the export a command names (resource plus mode/sample, or --id). */
function workflowIdOf(resource: string | undefined, flags: { account?: string; mode?: Paging; sample?: boolean; id?: string }): string {
  if (flags.id) return flags.id;
  if (!resource) throw new UserError('Name the export: a resource (tickets, users, organizations, ticket_events) or --id <workflow id>.');
  const [r] = resourcesOf([resource]);
  const chosen = chooseEndpoint(r!, { mode: flags.mode, sample: flags.sample });
  if ('error' in chosen) throw new UserError(chosen.error);
  return exportWorkflowId(account(flags), r!, chosen.endpoint.id);
}

/** The checks before a start, unless --no-probe: Zendesk answers and accepts the credentials, the folder takes files. */
async function preflight(requests: ExportRequest[], flags: ExportFlags): Promise<void> {
  if (!flags.probe) return;
  await probeZendesk(requests[0]!.account);
  await checkOutputFolder(toExportInput(requests[0]!).destination);
}

function addExportFlags(command: Command): Command {
  return command
    .option('--no-probe', 'do not check Zendesk (reachable, credentials accepted) and the output folder before starting')
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .addOption(new Option('--mode <mode>', 'cursor or time paging (default: cursor where it exists)').choices(['cursor', 'time']))
    .option('--sample', 'use the sample endpoint (50 records a page, 10 requests per 20 minutes)')
    .option('--start-time <time>', 'Unix seconds or ISO date to export from (0: everything)')
    .option('--cursor <cursor>', 'continue a cursor export from a saved cursor')
    .option('-o, --out <dir>', 'output folder for NDJSON files', './export')
    .option('--dest <url>', 'a postgres:// URL instead of files (password in PGPASSWORD for the worker)')
    .option('--rate-limit <N/SECONDS>', "the account's budget for the endpoint's bucket (default 10/60, sample 10/1200)")
    .option('--include <a,b>', 'sideloads, e.g. users,groups for tickets or comment_events for ticket_events')
    .option('--per-page <n>', 'records per page, 1 to 1000')
    .option('--exclude-deleted', 'leave out deleted tickets')
    .addOption(new Option('--support-type-scope <scope>', 'which tickets: all (default), agent, ai_agent').choices(['all', 'agent', 'ai_agent']))
    .option('--follow [seconds]', 'after catching up, keep polling every N seconds (default 300)');
}

function addTargetFlags(command: Command): Command {
  return command
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .addOption(new Option('--mode <mode>', 'cursor or time').choices(['cursor', 'time']))
    .option('--sample', 'the sample-endpoint export')
    .option('--id <workflowId>', 'the export by workflow ID');
}

async function withClient<T>(global: GlobalOptions, fn: (client: ExportClient) => Promise<T>): Promise<T> {
  const client = await ExportClient.connect(global);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('zendesk-export')
    .description('Copy a Zendesk account out through the Incremental Export API, durably, on Temporal.')
    .option('--address <host:port>', 'Temporal server (default: $TEMPORAL_ADDRESS or the env-config profile, else localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")')
    .option('--profile <name>', 'Temporal env-config profile (default: $TEMPORAL_PROFILE)')
    .option('--tls', 'connect with TLS (implied by TEMPORAL_API_KEY)')
    .option('--task-queue <name>', 'task queue of the workers (default: zendesk-export)')
    .option('--json', 'machine-readable output, one JSON object per line')
    .option('--debug', 'print stack traces of unexpected errors')
    // Usage mistakes become one sentence and exit 2 in main(), like every other bad input.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Zendesk credentials belong to the worker (ZENDESK_EMAIL + ZENDESK_API_TOKEN, ZENDESK_OAUTH_TOKEN, or
ZENDESK_OAUTH_CLIENT_ID with ZENDESK_OAUTH_REFRESH_TOKEN / ZENDESK_OAUTH_CLIENT_SECRET); ZENDESK_BASE_URL
points it at a proxy or simulator. Exit codes: 0 done, 1 export failed, 2 bad input or unreachable
service, 130 detached with Ctrl-C (the export goes on).

Examples:
  zendesk-export worker
  zendesk-export run tickets --start-time 2024-01-01 --out ./export
  zendesk-export start all --start-time 0 --rate-limit 30/60 --follow 600
  zendesk-export status tickets
  zendesk-export cancel users --mode time`,
    );
  const global = () => program.opts<GlobalOptions>();

  program
    .command('worker')
    .description('run a worker: it does the exports (stop with Ctrl-C; the page in hand is finished)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics')
    .addOption(new Option('--log-level <level>', 'log level').choices(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'))
    .action(async (flags: { metrics?: string; logLevel?: 'INFO' }) => {
      const { runWorker } = await import('../worker/main');
      await runWorker({ ...global(), metrics: flags.metrics, logLevel: flags.logLevel });
    });

  addExportFlags(
    program
      .command('run')
      .argument('[resources...]', 'tickets, users, organizations, ticket_events, or all', ['tickets'])
      .description('start exports and show their progress until they end (Ctrl-C detaches)'),
  ).action(async (names: string[], flags: ExportFlags) => {
    const requests = requestsOf(names, flags);
    await preflight(requests, flags);
    process.exitCode = await withClient(global(), async (client) => {
      const handles = await client.startMany(requests);
      for (const h of handles) if (h.alreadyRunning) process.stderr.write(`${h.workflowId} is already running; watching it.\n`);
      return watch(handles, global());
    });
  });

  addExportFlags(
    program
      .command('start')
      .argument('[resources...]', 'tickets, users, organizations, ticket_events, or all', ['tickets'])
      .description('start exports and return at once'),
  ).action(async (names: string[], flags: ExportFlags) => {
    const requests = requestsOf(names, flags);
    await preflight(requests, flags);
    await withClient(global(), async (client) => {
      for (const h of await client.startMany(requests)) {
        if (global().json) print(JSON.stringify({ workflowId: h.workflowId, alreadyRunning: h.alreadyRunning }));
        else print(h.alreadyRunning ? `${h.workflowId} is already running (nothing new started).` : `Started ${h.workflowId}`);
      }
    });
  });

  addTargetFlags(program.command('status').argument('[resource]').description("one export's progress and position")).action(
    async (resource: string | undefined, flags) => {
      const workflowId = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        const handle = client.handle(workflowId);
        const [described, state] = await Promise.all([handle.describe().catch(notFound(workflowId)), handle.progress()]);
        if (global().json) print(JSON.stringify({ ...described, state }));
        else {
          print(`${workflowId}  (${described.temporalStatus})`);
          print(progressLine({ workflowId, resource: workflowId.split('/')[2]!, state }, undefined, Date.now()));
          print(`position: ${JSON.stringify(state.position)}`);
          for (const note of state.notes) print(`note: ${note}`);
        }
      });
    },
  );

  addTargetFlags(program.command('watch').argument('[resources...]').description('show progress of running exports until they end')).action(
    async (names: string[], flags) => {
      const ids = flags.id ? [flags.id as string] : resourcesOf(names.length ? names : ['all']).map((r) => workflowIdOf(r, { ...flags, mode: flags.mode }));
      process.exitCode = await withClient(global(), async (client) => {
        const handles: ExportHandle[] = [];
        for (const id of ids) {
          const h = client.handle(id);
          if ((await h.describe().catch(() => undefined)) !== undefined) handles.push(h);
        }
        if (!handles.length) throw new UserError(`No export to watch: none of ${ids.join(', ')} exists.`);
        return watch(handles, global());
      });
    },
  );

  program
    .command('list')
    .description("an account's exports (all accounts without --account)")
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .action(async (flags: { account?: string }) => {
      await withClient(global(), async (client) => {
        const rows = await client.list(flags.account ?? process.env.ZENDESK_SUBDOMAIN);
        for (const r of rows) {
          print(global().json ? JSON.stringify(r) : `${r.workflowId.padEnd(60)} ${r.temporalStatus.padEnd(12)} started ${r.startTime.toISOString()}`);
        }
        if (!rows.length && !global().json) print('No exports.');
      });
    });

  addTargetFlags(program.command('pause').argument('[resource]').description('pause an export after the page in hand')).action(
    async (resource: string | undefined, flags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        await client.handle(id).pause().catch(notFound(id));
        print(`Paused ${id}. Resume it with: zendesk-export resume --id ${id}`);
      });
    },
  );

  addTargetFlags(
    program.command('resume').argument('[resource]').description('resume a paused export, or restart a stopped one from where it stopped'),
  ).action(async (resource: string | undefined, flags) => {
    const id = workflowIdOf(resource, flags);
    await withClient(global(), async (client) => {
      const d = await client.handle(id).describe().catch(notFound(id));
      if (d.temporalStatus === 'RUNNING') {
        if (!(await client.handle(id).progress()).paused) return print(`${id} is already running; nothing to resume.`);
        await client.handle(id).resume();
        print(`Resumed ${id}.`);
      } else {
        await client.resumeStopped(id);
        print(`Restarted ${id} from where it stopped (${d.temporalStatus.toLowerCase()}).`);
      }
    });
  });

  addTargetFlags(program.command('cancel').argument('[resource]').description('stop an export; resume continues from where it stopped')).action(
    async (resource: string | undefined, flags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        await client.handle(id).cancel().catch(notFound(id));
        print(`Cancelling ${id}. Restart it later with: zendesk-export resume --id ${id}`);
      });
    },
  );

  program
    .command('endpoints')
    .description('the seven Incremental Export endpoints this tool calls')
    .action(() => {
      for (const e of ENDPOINTS) {
        const line = { id: e.id, path: e.path, paging: e.paging, resources: e.resources, params: e.params, sideloads: Object.keys(e.sideloads), maxPerPage: e.maxPerPage, bucket: e.bucket };
        print(global().json ? JSON.stringify(line) : `${e.id.padEnd(15)} ${e.paging.padEnd(7)} ${e.path.padEnd(40)} ${e.bucket}`);
      }
    });

  program
    .command('simulator')
    .description('run the Zendesk-compatible simulator (see: zendesk-export simulator --help)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { main } = await import('../simulator/cli');
      // Its flags are checked before it starts: a mistake there is the user's, as everywhere else.
      await main(args).catch((err: Error) => {
        throw /^(--|Unknown option)/.test(err.message) ? new UserError(`${err.message} (see: zendesk-export simulator --help)`) : err;
      });
    });

  return program;
}

function notFound(workflowId: string) {
  return (err: unknown): never => {
    if ((err as Error)?.name === 'WorkflowNotFoundError') throw new UserError(`There is no export ${workflowId}.`);
    throw err;
  };
}

/** Runs the CLI; never lets a stack trace reach a user who made a mistake. */
export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const debug = program.opts<GlobalOptions>().debug;
    if (err instanceof CommanderError) {
      // Help and version end here too: shown already, nothing to add.
      const shown = err.code === 'commander.help' || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      if (!shown) process.stderr.write(`${err.message.replace(/^error: /, '').replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.')} See --help.\n`);
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
    } else if (err instanceof UserError || (err as Error)?.name === 'ZendeskConfigError') {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = EXIT.usage;
    } else if ((err as Error)?.name === 'WorkflowFailedError') {
      process.stderr.write(`Export failed: ${failureMessage(err)}\n`);
      process.exitCode = EXIT.failed;
    } else {
      process.stderr.write(`Unexpected error, please report it: ${(err as Error)?.message ?? String(err)}\n`);
      if (debug) process.stderr.write(`${(err as Error)?.stack}\n`);
      process.exitCode = EXIT.failed;
    }
  }
}
