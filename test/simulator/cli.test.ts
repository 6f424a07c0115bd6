/** The simulator's command line: every flag documented, flags turned into options. */
import { FLAGS, HELP, optionsFromArgs } from '../../simulator/cli';

test('--help documents every flag', () => {
  for (const flag of Object.keys(FLAGS)) expect(HELP).toContain(`--${flag}`);
  expect(optionsFromArgs(['--help']).help).toBe(true);
  expect(optionsFromArgs(['-h']).help).toBe(true);
});

test('flags become simulator options', () => {
  const { options } = optionsFromArgs([
    '--port', '0', '--seed', '9', '--tickets', '5000', '--ticket-events', '10', '--accounts', 'acme,beta', '--span-days', '2',
    '--same-second', '30', '--no-grow-pages', '--recent-window', '1', '--rate-limit', 'incremental-exports=30/60',
    '--rate-limit', 'sample=5/60', '--api-token', 'a@b.c:tok:with:colons', '--oauth-client', 'id:secret', '--access-token-ttl', '60',
    '--fail-rate', '0.1', '--fail-status', '502,504', '--drop-next', '2', '--latency-ms', '5', '--token-answer-latency-ms', '300', '--rate-limit-next', '1', '--retry-after', '9',
  ]);
  expect(options).toMatchObject({
    port: 0, seed: 9, sizes: { tickets: 5000, ticket_events: 10 }, accounts: ['acme', 'beta'], spanSeconds: 172_800, sameSecond: 30,
    growPages: false, recentWindowSeconds: 1, rateLimits: { 'incremental-exports': { requests: 30, seconds: 60 }, sample: { requests: 5, seconds: 60 } },
    apiTokens: [{ email: 'a@b.c', token: 'tok:with:colons' }], oauthClients: [{ clientId: 'id', clientSecret: 'secret' }], accessTokenTtlSeconds: 60,
    faults: { failRate: 0.1, failStatus: [502, 504], dropNext: 2, latencyMs: 5, tokenAnswerLatencyMs: 300, rateLimitNext: 1, retryAfterSeconds: 9 },
  });
  expect(optionsFromArgs(['--accounts', '3']).options.accounts).toBe(3);
  expect(optionsFromArgs(['--no-rate-limit']).options.rateLimits).toBe('off');
  expect(optionsFromArgs([]).options).toMatchObject({
    port: 8080, growPages: true, rateLimits: undefined, bucketHeader: true, timeBoundary: undefined, emptyFirstCursor: undefined,
    tooRecentAnswer: undefined, rateLimitAnswer: undefined, accountHeaders: undefined,
  });
});

test('the variants of Zendesk behaviour are flags', () => {
  const { options } = optionsFromArgs([
    '--time-boundary', 'same-second', '--empty-first-cursor', 'start', '--too-recent-answer', 'text-5-minutes',
    '--rate-limit-answer', 'text', '--account-headers', 'rate-limit', '--no-bucket-header',
  ]);
  expect(options).toMatchObject({
    timeBoundary: 'same-second', emptyFirstCursor: 'start', tooRecentAnswer: 'text-5-minutes', rateLimitAnswer: 'text', accountHeaders: 'rate-limit', bucketHeader: false,
  });
  expect(optionsFromArgs(['--too-recent-answer', 'json-1-minute', '--time-boundary', 'next-second']).options).toMatchObject({ tooRecentAnswer: 'json-1-minute', timeBoundary: 'next-second' });
  expect(() => optionsFromArgs(['--time-boundary', 'later'])).toThrow(/--time-boundary later: expected one of next-second, same-second/);
  expect(() => optionsFromArgs(['--rate-limit-answer', 'xml'])).toThrow(/json, text/);
  expect(() => optionsFromArgs(['--account-headers', 'x-rate'])).toThrow(/ratelimit, rate-limit/);
  expect(() => optionsFromArgs(['--too-recent-answer', 'json'])).toThrow(/json-5-minutes, text-5-minutes, json-1-minute/);
  expect(() => optionsFromArgs(['--empty-first-cursor', 'none'])).toThrow(/null, start/);
});

test('bad flags are refused with a reason', () => {
  expect(() => optionsFromArgs(['--rate-limit', 'everything=10/60'])).toThrow(/bucket of incremental-exports/);
  expect(() => optionsFromArgs(['--rate-limit', 'sample=ten'])).toThrow(/BUCKET=N\/SECONDS/);
  expect(() => optionsFromArgs(['--fail-rate', '2'])).toThrow(/at most 1/);
  expect(() => optionsFromArgs(['--tickets', 'many'])).toThrow(/--tickets/);
  expect(() => optionsFromArgs(['--api-token', 'no-colon'])).toThrow(/A:B/);
  expect(() => optionsFromArgs(['--bogus'])).toThrow(/bogus/);
});
