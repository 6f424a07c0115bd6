/**
 * What every command shares: the global options, output, the client connection, and turning the
 * flags a user gave into requests and workflow IDs.
 */
import { Option, type Command } from 'commander';
import { ExportClient } from '../client/export-client';
import { UserError } from '../client/errors';
import { parseAccount, parseRateLimit, toExportInput, type ExportRequest } from '../client/request';
import { chooseEndpoint, isResource, RESOURCES, SUPPORT_TYPE_SCOPES, type Paging, type Resource, type SupportTypeScope } from '../zendesk/endpoints';
import { exportWorkflowId } from '../workflows/ids';

export interface GlobalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue?: string;
  tls?: boolean;
  json?: boolean;
  debug?: boolean;
}

export interface ExportFlags {
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
  maxPages?: string;
  excludeDeleted?: boolean;
  supportTypeScope?: SupportTypeScope;
  follow?: string | boolean;
  probe: boolean;
}

export interface TargetFlags {
  account?: string;
  mode?: Paging;
  sample?: boolean;
  id?: string;
}

export const print = (line: string) => process.stdout.write(`${line}\n`);

/** The program's global options, once parsed. */
export type Globals = () => GlobalOptions;

/** The account a command names: --account, else ZENDESK_SUBDOMAIN. */
export function accountOf(flags: { account?: string }): string {
  const value = flags.account ?? process.env.ZENDESK_SUBDOMAIN;
  if (!value) throw new UserError('Name the Zendesk account: set ZENDESK_SUBDOMAIN or pass --account <subdomain>.');
  return parseAccount(value);
}

/** `tickets users`, or `all` for the four resources. */
export function resourcesOf(names: readonly string[]): Resource[] {
  const list = names.length === 0 || names.includes('all') ? [...RESOURCES] : names;
  for (const name of list) {
    if (!isResource(name)) throw new UserError(`Unknown resource "${name}". Choose one of: ${RESOURCES.join(', ')}, or all.`);
  }
  return list as Resource[];
}

export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) throw new UserError(`${flag} takes a whole number, not "${value}".`);
  return Number(value);
}

export function requestsOf(names: readonly string[], flags: ExportFlags): ExportRequest[] {
  const resources = resourcesOf(names);
  const account = accountOf(flags);
  const requests: ExportRequest[] = resources.map((resource) => ({
    account,
    resource,
    // With several resources, a mode applies where the resource has it (organizations are time-only).
    mode: resources.length > 1 && flags.mode && 'error' in chooseEndpoint(resource, { mode: flags.mode }) ? undefined : flags.mode,
    sample: flags.sample,
    startTime: flags.startTime,
    cursor: flags.cursor,
    perPage: wholeNumber('--per-page', flags.perPage),
    maxPages: wholeNumber('--max-pages', flags.maxPages),
    include: flags.include?.split(',').map((s) => s.trim()).filter(Boolean),
    excludeDeleted: flags.excludeDeleted && resource === 'tickets' ? true : undefined,
    supportTypeScope: flags.supportTypeScope,
    destination: flags.dest === undefined ? flags.out : destOf(flags.dest),
    rateLimit: flags.rateLimit ? parseRateLimit(flags.rateLimit) : undefined,
    followIntervalSeconds: flags.follow === undefined || flags.follow === false ? undefined : flags.follow === true ? 300 : wholeNumber('--follow', flags.follow),
  }));
  for (const r of requests) toExportInput(r); // Every mistake is reported before anything connects.
  return requests;
}

/**
 * `--dest` names a Postgres or S3 target; a folder goes in `--out`. A word that is neither (`mysql`) is a
 * mistake to name, not a folder to create. URLs go on to the request's own check, which names them.
 */
function destOf(dest: string): string {
  const text = dest.trim();
  if (/^(postgres(ql)?|s3)(:|$)/i.test(text) || /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  throw new UserError(`--dest takes postgres, postgres:<name>, s3 or s3:<name>, not "${text.slice(0, 80)}"; an output folder goes in --out.`);
}

/** The workflow ID of the export a command names (resource plus mode/sample, or --id). */
export function workflowIdOf(resource: string | undefined, flags: TargetFlags): string {
  if (flags.id) return flags.id;
  if (!resource) throw new UserError('Name the export: a resource (tickets, users, organizations, ticket_events, or all) or --id <workflow id>.');
  const [r] = resourcesOf([resource]);
  const chosen = chooseEndpoint(r!, { mode: flags.mode, sample: flags.sample });
  if ('error' in chosen) throw new UserError(chosen.error);
  return exportWorkflowId(accountOf(flags), r!, chosen.endpoint.id);
}

/**
 * The exports a command names: one, or with `all` each resource's export of the account, chosen as
 * `start all` with the same flags chooses them (a mode applies where the resource has it).
 */
export function workflowIdsOf(resource: string | undefined, flags: TargetFlags): string[] {
  if (flags.id || resource !== 'all') return [workflowIdOf(resource, flags)];
  return RESOURCES.map((r) => {
    const mode = flags.mode && 'error' in chooseEndpoint(r, { mode: flags.mode }) ? undefined : flags.mode;
    return workflowIdOf(r, { ...flags, mode });
  });
}

/**
 * Runs `fn` with a connected client, closed afterwards. `waits` shortens how long a start waits for a
 * worker before it hands back a pending export (`run` shows the wait instead of sitting silent).
 */
export async function withClient<T>(
  global: GlobalOptions,
  fn: (client: ExportClient) => Promise<T>,
  waits: { startTimeoutMs?: number } = {},
): Promise<T> {
  const client = await ExportClient.connect(global, waits);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function addExportFlags(command: Command): Command {
  return command
    .option('--no-probe', 'do not check Zendesk (reachable, credentials accepted) and the output folder before starting')
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .addOption(new Option('--mode <mode>', 'cursor or time paging (default: cursor where it exists)').choices(['cursor', 'time']))
    .option('--sample', 'one page of up to 50 records from the sample endpoint, to see the format (10 requests per 20 minutes)')
    .option('--start-time <time>', 'required unless --cursor: Unix seconds or ISO date to export from, at least a minute ago (0: everything)')
    .option('--cursor <cursor>', 'continue a cursor export from a saved cursor, instead of --start-time')
    .option('-o, --out <dir>', "output folder for NDJSON files, inside the worker's output root", './export')
    .option('--dest <target>', "postgres or postgres:<name> (the worker's ZENDESK_EXPORT_POSTGRES[_<NAME>]), or s3 or s3:<name> (its ZENDESK_EXPORT_S3[_<NAME>]), instead of local files")
    .option('--rate-limit <N/SECONDS>', "the account's budget for the endpoint's bucket from now on, as `budget` sets it (default 10/60, users cursor 20/60, sample 10/1200)")
    .option('--include <a,b>', 'sideloads, e.g. users,groups for tickets or comment_events for ticket_events (the default for ticket events into Postgres)')
    .option('--per-page <n>', 'records per page, 1 to 1000')
    .option('--max-pages <n>', 'stop after this many pages')
    .option('--exclude-deleted', 'leave out deleted tickets')
    .addOption(new Option('--support-type-scope <scope>', 'which tickets: all (default), agent, ai_agent').choices([...SUPPORT_TYPE_SCOPES]))
    .option('--follow [seconds]', 'after catching up, keep polling every N seconds (default 300, at most 86400)');
}

export function addTargetFlags(command: Command): Command {
  return command
    .option('-a, --account <subdomain>', 'Zendesk account (default: $ZENDESK_SUBDOMAIN)')
    .addOption(new Option('--mode <mode>', 'cursor or time').choices(['cursor', 'time']))
    .option('--sample', 'the sample-endpoint export')
    .option('--id <workflowId>', 'the export by workflow ID');
}
