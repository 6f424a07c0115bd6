/** `zendesk-export simulator ...` (in a checkout, `npm run simulator -- ...`): the simulator as a process. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RATE_BUCKETS, RESOURCES, type RateBucket, type RateBudget, type Resource } from '../zendesk/endpoints';
import { DEFAULT_API_TOKEN, DEFAULT_OAUTH } from './auth';
import { RATE_LIMIT_ANSWERS, TOO_RECENT_ANSWERS } from './errors';
import { DEFAULT_FAULTS, type Faults } from './faults';
import { ACCOUNT_HEADER_STYLES } from './limits';
import { DEFAULT_SIZES, accountNames, type SimulatorOptions } from './options';
import { EMPTY_FIRST_CURSORS, TIME_BOUNDARIES } from './paging';
import { startSimulator } from './server';

const BUCKETS = Object.keys(RATE_BUCKETS).join(', ');
const TABLE_LIMITS = Object.entries(RATE_BUCKETS).map(([b, r]) => `${b}=${r.budget.requests}/${r.budget.seconds}`).join(' ');

export const HELP = `Usage: zendesk-export simulator [options]   (in a checkout of zendesk-export: npm run simulator -- [options])

A Zendesk-compatible server for the seven Incremental Export endpoints, with seeded data.

Server
  --port N                    port to listen on (default 8080; 0 picks a free one)
  --host ADDR                 address to bind (default 127.0.0.1)

Data
  --seed N                    data seed; the same seed gives the same records (default 42)
  --tickets N                 tickets per account (default ${DEFAULT_SIZES.tickets})
  --users N                   users per account (default ${DEFAULT_SIZES.users})
  --organizations N           organizations per account (default ${DEFAULT_SIZES.organizations})
  --ticket-events N           ticket events per account, in total (default ${DEFAULT_SIZES.ticket_events})
  --events-per-ticket N       ticket events per ticket, instead of --ticket-events
  --accounts N|a,b,c          number of accounts, or their names; the first is served at the root,
                              every one under /accounts/<name> (default: one, "default")
  --span-days D               versions spread over the D days before --end-time (default 30)
  --end-time EPOCH            newest generated version, epoch seconds (default: now minus the recent window)
  --same-second N             N records of each resource share one second (a bulk update)

Paging (what is known of Zendesk and where each variant comes from: docs/zendesk-behaviour.md)
  --time-boundary MODE        end_time of a time-based page: next-second (its last record's second + 1,
                              as recorded; pages do not repeat) or same-second (that second, as on
                              zenpy#451's real final page; the next page repeats it) (default next-second)
  --no-grow-pages             cut time-based pages at per_page even inside a shared second (the
                              "stuck" variant: end_time repeats and a naive client loops)
  --empty-first-cursor MODE   a first cursor call that finds nothing answers after_cursor null (as
                              reported; the default) or start (a cursor at its start_time)
  --recent-window SECONDS     the one-minute rule: start_time must be older, newer versions wait (default 60)
  --too-recent-answer FORM    the 422 for a too recent start_time: json-5-minutes (recorded; the default),
                              text-5-minutes (the same sentence as text/plain) or json-1-minute

Rate limits (per account, rolling window)
  --rate-limit BUCKET=N/S     N requests per S seconds, repeatable; buckets: ${BUCKETS}
                              (default: ${TABLE_LIMITS})
  --no-rate-limit             no limits at all (headers and counters stay)
  --rate-limit-answer FORM    the 429 body: json ({"error":"APIRateLimitExceeded",...}, recorded; the
                              default) or text (text/plain, the account limit's); Retry-After always
  --account-headers STYLE     ratelimit (ratelimit-limit/-remaining/-reset, as recorded in 2024; the
                              default) or rate-limit (rate-limit-*, as recorded in 2023); x-rate-limit: 700
                              and x-rate-limit-remaining come with both
  --no-bucket-header          leave out zendesk-ratelimit-<bucket> (absent from the 2023-2024 recordings)

Credentials
  --api-token EMAIL:TOKEN     an accepted API token, repeatable (default ${DEFAULT_API_TOKEN.email}:${DEFAULT_API_TOKEN.token})
  --oauth-client ID:SECRET    an accepted OAuth client, repeatable (default ${DEFAULT_OAUTH.clientId}:${DEFAULT_OAUTH.clientSecret})
  --refresh-token TOKEN       the refresh token valid at start (default ${DEFAULT_OAUTH.refreshToken})
  --access-token-ttl SECONDS  OAuth access token lifetime (default ${DEFAULT_OAUTH.accessTokenTtlSeconds})

Faults (rates are shares 0..1 drawn from the seed; counts apply to the next requests)
  --fail-rate R  --fail-next N         answer 5xx (JSON, text or HTML body)
  --fail-status S1,S2                  statuses of those failures, in turn (default ${DEFAULT_FAULTS.failStatus.join(',')})
  --drop-rate R  --drop-next N         close the connection without an answer
  --malformed-rate R  --malformed-next N  a 200 with truncated JSON
  --stall-rate R  --stall-next N  --stall-ms MS  answer only after MS milliseconds
  --latency-ms MS                      added to every request
  --token-answer-latency-ms MS         added to every token answer, after the grant has rotated
  --rate-limit-next N  --retry-after S answer 429 with Retry-After S (default ${DEFAULT_FAULTS.retryAfterSeconds})

  -h, --help                  this text

Endpoints: /api/v2/incremental/{tickets,tickets/cursor,users,users/cursor,organizations,ticket_events,
{resource}/sample} with Authorization "Basic base64(EMAIL/token:TOKEN)" or "Bearer ACCESS_TOKEN";
GET /oauth/authorizations/new (approves at once: redirects with a code; PKCE S256 required);
POST /oauth/tokens (grant_type authorization_code, refresh_token or client_credentials, JSON or form
body; a refresh deletes the grant's previous access and refresh tokens).
Control: GET /__sim/stats, POST /__sim/reset-stats, GET|POST /__sim/faults (JSON Faults),
POST /__sim/revoke-grant {token} (revokes the grant of a refresh or access token),
POST /__sim/update {account?,resource,id}, POST /__sim/add {account?,resource,n},
GET /__sim/expected?resource=&account=&support_type_scope=&exclude_deleted=&start_time= (NDJSON, each
line the exact text a record is served as).
`;

function number(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${flag} ${value}: expected a number of at least ${min}`);
  return n;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function pair(flag: string, value: string): [string, string] {
  const at = value.indexOf(':');
  if (at <= 0 || at === value.length - 1) throw new Error(`--${flag} ${value}: expected A:B`);
  return [value.slice(0, at), value.slice(at + 1)];
}

/** Every flag; --help documents each one (a test checks). */
export const FLAGS = {
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  seed: { type: 'string' },
  tickets: { type: 'string' },
  users: { type: 'string' },
  organizations: { type: 'string' },
  'ticket-events': { type: 'string' },
  'events-per-ticket': { type: 'string' },
  accounts: { type: 'string' },
  'span-days': { type: 'string' },
  'end-time': { type: 'string' },
  'same-second': { type: 'string' },
  'time-boundary': { type: 'string' },
  'no-grow-pages': { type: 'boolean' },
  'empty-first-cursor': { type: 'string' },
  'recent-window': { type: 'string' },
  'too-recent-answer': { type: 'string' },
  'rate-limit': { type: 'string', multiple: true },
  'no-rate-limit': { type: 'boolean' },
  'rate-limit-answer': { type: 'string' },
  'account-headers': { type: 'string' },
  'no-bucket-header': { type: 'boolean' },
  'api-token': { type: 'string', multiple: true },
  'oauth-client': { type: 'string', multiple: true },
  'refresh-token': { type: 'string' },
  'access-token-ttl': { type: 'string' },
  'fail-rate': { type: 'string' },
  'fail-next': { type: 'string' },
  'fail-status': { type: 'string' },
  'drop-rate': { type: 'string' },
  'drop-next': { type: 'string' },
  'malformed-rate': { type: 'string' },
  'malformed-next': { type: 'string' },
  'stall-rate': { type: 'string' },
  'stall-next': { type: 'string' },
  'stall-ms': { type: 'string' },
  'latency-ms': { type: 'string' },
  'token-answer-latency-ms': { type: 'string' },
  'rate-limit-next': { type: 'string' },
  'retry-after': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Parses the flags into simulator options (exported for tests). */
export function optionsFromArgs(argv: string[]): { help: boolean; options: SimulatorOptions } {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: FLAGS,
  });
  const sizes: Partial<Record<Resource, number>> = {};
  for (const r of RESOURCES) {
    const flag = r.replace('_', '-') as 'tickets' | 'users' | 'organizations' | 'ticket-events';
    const n = number(flag, v[flag]);
    if (n !== undefined) sizes[r] = n;
  }
  let rateLimits: SimulatorOptions['rateLimits'];
  if (v['no-rate-limit']) rateLimits = 'off';
  else if (v['rate-limit']?.length) {
    const limits: Partial<Record<RateBucket, RateBudget>> = {};
    for (const spec of v['rate-limit']) {
      const m = /^([\w-]+)=(\d+)\/(\d+)$/.exec(spec);
      if (!m || !(m[1]! in RATE_BUCKETS) || Number(m[2]) < 1 || Number(m[3]) < 1) {
        throw new Error(`--rate-limit ${spec}: expected BUCKET=N/SECONDS with N, SECONDS >= 1 and a bucket of ${BUCKETS}`);
      }
      limits[m[1] as RateBucket] = { requests: Number(m[2]), seconds: Number(m[3]) };
    }
    rateLimits = limits;
  }
  const faults: Partial<Faults> = {};
  const fault = (key: Exclude<keyof Faults, 'failStatus'>, flag: string, max = Infinity) => {
    const n = number(flag, v[flag as keyof typeof v] as string | undefined);
    if (n === undefined) return;
    if (n > max) throw new Error(`--${flag} ${n}: at most ${max}`);
    faults[key] = n;
  };
  for (const kind of ['fail', 'drop', 'malformed', 'stall'] as const) {
    fault(`${kind}Rate`, `${kind}-rate`, 1);
    fault(`${kind}Next`, `${kind}-next`);
  }
  fault('stallMs', 'stall-ms');
  fault('latencyMs', 'latency-ms');
  fault('tokenAnswerLatencyMs', 'token-answer-latency-ms');
  fault('rateLimitNext', 'rate-limit-next');
  fault('retryAfterSeconds', 'retry-after');
  if (v['fail-status']) {
    faults.failStatus = v['fail-status'].split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 400 || n > 599) throw new Error(`--fail-status ${s}: expected HTTP statuses 400..599`);
      return n;
    });
  }
  const accountsText = v.accounts;
  const accounts = accountsText === undefined ? undefined : /^\d+$/.test(accountsText) ? Number(accountsText) : accountsText.split(',').map((s) => s.trim()).filter(Boolean);
  const spanDays = number('span-days', v['span-days']);
  return {
    help: v.help === true,
    options: {
      port: number('port', v.port),
      host: v.host,
      seed: number('seed', v.seed),
      sizes,
      eventsPerTicket: number('events-per-ticket', v['events-per-ticket']),
      accounts,
      spanSeconds: spanDays === undefined ? undefined : Math.max(1, Math.round(spanDays * 86_400)),
      endTime: number('end-time', v['end-time']),
      sameSecond: number('same-second', v['same-second']),
      growPages: !v['no-grow-pages'],
      timeBoundary: choice('time-boundary', v['time-boundary'], TIME_BOUNDARIES),
      emptyFirstCursor: choice('empty-first-cursor', v['empty-first-cursor'], EMPTY_FIRST_CURSORS),
      recentWindowSeconds: number('recent-window', v['recent-window']),
      tooRecentAnswer: choice('too-recent-answer', v['too-recent-answer'], TOO_RECENT_ANSWERS),
      rateLimits,
      rateLimitAnswer: choice('rate-limit-answer', v['rate-limit-answer'], RATE_LIMIT_ANSWERS),
      accountHeaders: choice('account-headers', v['account-headers'], ACCOUNT_HEADER_STYLES),
      bucketHeader: !v['no-bucket-header'],
      apiTokens: v['api-token']?.map((t) => {
        const [email, token] = pair('api-token', t);
        return { email, token };
      }),
      oauthClients: v['oauth-client']?.map((c) => {
        const [clientId, clientSecret] = pair('oauth-client', c);
        return { clientId, clientSecret };
      }),
      refreshToken: v['refresh-token'],
      accessTokenTtlSeconds: number('access-token-ttl', v['access-token-ttl'], 1),
      faults,
    },
  };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { help, options } = optionsFromArgs(argv);
  if (help) {
    process.stdout.write(HELP);
    return;
  }
  const sim = await startSimulator(options);
  // Listened for before the banner says Ctrl-C stops it: a Ctrl-C right after the banner stops it cleanly too.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const token = options.apiTokens?.[0] ?? DEFAULT_API_TOKEN;
  const client = [options.oauthClients ?? DEFAULT_OAUTH].flat()[0] ?? DEFAULT_OAUTH;
  const names = accountNames(options.accounts).slice(1);
  process.stdout.write(
    `Zendesk simulator at ${sim.url} (account "${accountNames(options.accounts)[0]}")\n` +
      (names.length ? `  other accounts: ${names.map((n) => sim.accountUrl(n)).join(' ')}\n` : '') +
      `  API token:  email ${token.email}, token ${token.token}\n` +
      `              export ZENDESK_SUBDOMAIN=${accountNames(options.accounts)[0]} ZENDESK_BASE_URL=${sim.url} ZENDESK_EMAIL=${token.email} ZENDESK_API_TOKEN=${token.token}\n` +
      `  OAuth:      client ${client.clientId} / ${client.clientSecret}, refresh token ${options.refreshToken ?? DEFAULT_OAUTH.refreshToken} (POST ${sim.url}/oauth/tokens)\n` +
      `  Control:    ${sim.url}/__sim/stats\n` +
      `Ctrl-C stops.\n`,
  );
  await stopped;
  await sim.close();
  process.stdout.write('Simulator stopped.\n');
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message} (see --help)\n`);
    process.exit(2);
  });
}
