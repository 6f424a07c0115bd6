/** `zendesk-export simulator` / `npm run simulator -- ...`: the simulator as a process. */
import { parseArgs } from 'node:util';
import { RATE_BUCKETS, RESOURCES, type RateBucket, type RateBudget, type Resource } from '../zendesk/endpoints';
import { DEFAULT_API_TOKEN, DEFAULT_OAUTH, startSimulator, type SimulatorOptions } from './server';

const HELP = `Usage: zendesk-export simulator [options]

A Zendesk-compatible server for the seven Incremental Export endpoints, with seeded data.

Options:
  --port N                    port to listen on (default 8080; 0 picks a free one)
  --host ADDR                 address to bind (default 127.0.0.1)
  --seed N                    data seed (default 42)
  --tickets N --users N --organizations N --ticket-events N
                              records per resource (default 1000, 500, 100, 2000)
  --same-second N             N records of each resource share one second (a bulk update)
  --no-grow-pages             do not grow time-based pages past per_page on a shared second
  --recent-window SECONDS     the one-minute rule: start_time must be older (default 60)
  --rate-limit BUCKET=N/S     account budget per bucket, repeatable; buckets: ${Object.keys(RATE_BUCKETS).join(', ')}
  --no-rate-limit             no rate limits at all
  --access-token-ttl SECONDS  OAuth access token lifetime (default ${DEFAULT_OAUTH.accessTokenTtlSeconds})
  --fail-rate R --drop-rate R --malformed-rate R --latency-ms MS
                              faults: share of 5xx, dropped connections, truncated bodies; added latency
  -h, --help                  this text

Credentials it accepts: API token ${DEFAULT_API_TOKEN.email} / ${DEFAULT_API_TOKEN.token};
OAuth client ${DEFAULT_OAUTH.clientId} / ${DEFAULT_OAUTH.clientSecret} with refresh token ${DEFAULT_OAUTH.refreshToken}
(POST /oauth/tokens). Other accounts live under /accounts/<name>. Control: GET /__sim/stats,
POST /__sim/faults, POST /__sim/update {resource,id}, POST /__sim/add {resource,n}, GET /__sim/expected?resource=.
`;

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      tickets: { type: 'string' },
      users: { type: 'string' },
      organizations: { type: 'string' },
      'ticket-events': { type: 'string' },
      'same-second': { type: 'string' },
      'no-grow-pages': { type: 'boolean' },
      'recent-window': { type: 'string' },
      'rate-limit': { type: 'string', multiple: true },
      'no-rate-limit': { type: 'boolean' },
      'access-token-ttl': { type: 'string' },
      'fail-rate': { type: 'string' },
      'drop-rate': { type: 'string' },
      'malformed-rate': { type: 'string' },
      'latency-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const sizes: Partial<Record<Resource, number>> = {};
  for (const r of RESOURCES) {
    const v = num(values[r === 'ticket_events' ? 'ticket-events' : r] as string | undefined);
    if (v !== undefined) sizes[r] = v;
  }
  let rateLimits: SimulatorOptions['rateLimits'];
  if (values['no-rate-limit']) rateLimits = 'off';
  else if (values['rate-limit']?.length) {
    const limits: Partial<Record<RateBucket, RateBudget>> = {};
    for (const spec of values['rate-limit']) {
      const m = /^([\w-]+)=(\d+)\/(\d+)$/.exec(spec);
      if (!m || !(m[1]! in RATE_BUCKETS)) throw new Error(`--rate-limit ${spec}: use BUCKET=N/SECONDS with a bucket of ${Object.keys(RATE_BUCKETS).join(', ')}`);
      limits[m[1] as RateBucket] = { requests: Number(m[2]), seconds: Number(m[3]) };
    }
    rateLimits = limits;
  }
  const sim = await startSimulator({
    port: num(values.port),
    host: values.host,
    seed: num(values.seed),
    sizes,
    sameSecond: num(values['same-second']),
    growPages: !values['no-grow-pages'],
    recentWindowSeconds: num(values['recent-window']),
    rateLimits,
    oauth: { accessTokenTtlSeconds: num(values['access-token-ttl']) },
    faults: {
      failRate: num(values['fail-rate']) ?? 0,
      dropRate: num(values['drop-rate']) ?? 0,
      malformedRate: num(values['malformed-rate']) ?? 0,
      latencyMs: num(values['latency-ms']) ?? 0,
    },
  });
  process.stdout.write(
    `Zendesk simulator at ${sim.url}\n` +
      `  export ZENDESK_BASE_URL=${sim.url} ZENDESK_SUBDOMAIN=acme ZENDESK_EMAIL=${DEFAULT_API_TOKEN.email} ZENDESK_API_TOKEN=${DEFAULT_API_TOKEN.token}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sim.close();
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
}
