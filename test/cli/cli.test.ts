/**
 * The CLI as a user runs it: `bin/zendesk-export.js` as a subprocess (built by `npm test`), against a
 * real dev server, the simulator and worker processes. Bad input, the checks before a start, a run
 * from start to end, accounts bound to the worker's credentials, its output root, a named Postgres
 * target, and a scan of every log line, CLI output and workflow history of full runs for secrets.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { freePort } from '../../devserver';
import { DEFAULT_OAUTH } from '../../simulator';
import { badInputs } from '../helpers/cli';
import { SIM_TOKEN } from '../helpers/exports';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { useCliStack } from './stack';

const stack = useCliStack({ sizes: { tickets: 120, users: 60, organizations: 30, ticket_events: 100 }, rateLimits: 'off' });
const QUEUE = 'cli-test';
const env = () => stack.env('clitest', QUEUE);
const cli = (args: string[], extra: Record<string, string> = {}) => stack.cli(args, { ...env(), ...extra });

beforeAll(() => {
  stack.worker(env());
});

describe('bad input: one clear sentence, exit 2, nothing sent, nothing started', () => {
  test.each(badInputs.map((b) => [b.name, b] as const))('%s', async (_name, input) => {
    const before = stack.sim.stats().requests;
    const r = await cli(input.args(Date.now()));
    expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 2, stderr: expect.stringMatching(input.message) });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(stack.sim.stats().requests).toBe(before);
  });

  test('nothing was started and nothing written by any of them', async () => {
    expect((await cli(['list'])).stdout.trim()).toBe('No exports.');
    expect(readdirSync(stack.dir)).toEqual([]);
  });

  test('--json: the error is one JSON object on stderr', async () => {
    const r = await cli(['--json', 'run', 'tickets', '--start-time', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ error: expect.stringMatching(/^Start time "soon" is neither/), exitCode: 2 });
  });

  test('unreachable Temporal', async () => {
    const r = await cli(['list'], { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot reach Temporal at 127\.0\.0\.1:\d+: start a server/);
  });

  test('wrong credentials: refused before anything starts, naming the account, never the token', async () => {
    const before = stack.sim.stats().requests;
    const r = await cli(['run', 'tickets', '--start-time', '0', '--out', 'out'], { ZENDESK_API_TOKEN: 'wrong-secret-token' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('Zendesk refused the credentials for account "clitest" (API token, HTTP 401): check them, or pass --no-probe if the worker has others.');
    expect(r.stdout + r.stderr).not.toContain('wrong-secret-token');
    expect(stack.sim.stats().requests).toBe(before);
  });

  test('an output folder that cannot be written', async () => {
    writeFileSync(path.join(stack.dir, 'a-file'), '');
    const r = await cli(['run', 'tickets', '--start-time', '0', '--out', 'a-file/export']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot write to the output folder .*a-file\/export \(ENOTDIR\): choose another with --out\.$/);
  });

  test("an output folder outside the worker's output root: refused before, or by the worker with --no-probe", async () => {
    const outside = path.dirname(stack.dir);
    const checked = await cli(['run', 'organizations', '--start-time', '0', '--out', outside]);
    expect(checked.code).toBe(2);
    expect(checked.stderr.trim()).toBe(
      `The output folder ${outside} is outside the output root ${stack.dir}: choose a folder inside it, or run the worker with --output-root (ZENDESK_EXPORT_OUTPUT_ROOT here too) around it, or pass --no-probe if the worker's root differs.`,
    );
    // The worker refuses it when asked to start, before the export waits for any budget.
    const unchecked = await cli(['run', 'organizations', '--start-time', '0', '--out', outside, '--no-probe']);
    expect(unchecked.code).toBe(2);
    expect(unchecked.stderr.trim()).toMatch(/^The output folder \S+ is outside the worker's output root; choose a folder inside it, or start the worker with another --output-root\.$/);
  });

  test('unreachable Zendesk', async () => {
    const r = await cli(['run', 'tickets', '--start-time', '0'], { ZENDESK_BASE_URL: `http://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot reach Zendesk at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});

test('run exports and exits 0, each last line once; status and list agree', async () => {
  const run = await cli(['run', 'organizations', '--start-time', '0', '--out', 'out', '--rate-limit', '1000/1']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const completed = run.stdout.split('\n').filter((line) => /^organizations\s+completed\s+1 page\s+30 records\s/.test(line));
  expect(completed).toHaveLength(1); // Shown once, with the rate of the whole run (not 0.0/s a second time).
  expect(readdirSync(path.join(stack.dir, 'out', 'clitest', 'organizations')).filter((n) => n.endsWith('.ndjson'))).toHaveLength(1);

  const status = await cli(['--json', 'status', 'organizations']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ temporalStatus: 'COMPLETED', state: { status: 'completed', progress: { records: 30, pages: 1 } } });

  const list = await cli(['list']);
  expect(list.stdout).toMatch(/zendesk-export\/clitest\/organizations\/organizations\s+COMPLETED\s+started \S+\s+30 records in 1 page$/m);
});

test("an account the worker's credentials are not for: its export fails saying so, exit 1", async () => {
  const r = await cli(['run', 'organizations', '--account', 'other', '--start-time', '0', '--out', 'out']);
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe(
    'Export zendesk-export/other/organizations/organizations failed: The worker\'s credentials are not for account "other": they serve ZENDESK_SUBDOMAIN (or the list in ZENDESK_ACCOUNTS).',
  );
  expect(r.stdout + r.stderr).not.toContain(SIM_TOKEN);
});

test('a worker without credentials fails the export with one sentence, exit 1', async () => {
  stack.worker({ ZENDESK_EXPORT_OUTPUT_ROOT: stack.dir }, { taskQueue: 'no-credentials', inheritEnv: false, logLevel: 'ERROR' });
  const r = await cli(['run', 'tickets', '--start-time', '0', '--account', 'nocreds', '--out', 'out'], { ZENDESK_EXPORT_TASK_QUEUE: 'no-credentials' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toMatch(/failed: The worker has no Zendesk credentials for account "nocreds": set ZENDESK_SUBDOMAIN with ZENDESK_EMAIL and ZENDESK_API_TOKEN/);
  expect(r.stdout + r.stderr).not.toContain(SIM_TOKEN);
});

describe('a named Postgres target, and secrets', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres({ password: 'pg-secret-4b1d' });
  });
  afterAll(async () => {
    await pg?.stop();
  });

  test('no secret in any log line, CLI output, error or workflow history of full export runs', async () => {
    const store = path.join(stack.dir, 'token-store.json');
    const password = 'zendesk-password-9c2e';
    const oauthWorker = stack.worker(
      {
        ZENDESK_BASE_URL: stack.sim.url,
        ZENDESK_SUBDOMAIN: 'secrets',
        ZENDESK_OAUTH_CLIENT_ID: DEFAULT_OAUTH.clientId,
        ZENDESK_OAUTH_CLIENT_SECRET: DEFAULT_OAUTH.clientSecret,
        ZENDESK_OAUTH_REFRESH_TOKEN: DEFAULT_OAUTH.refreshToken,
        ZENDESK_TOKEN_STORE: store,
        ZENDESK_PASSWORD: password, // Ignored beside OAuth, but present.
        ZENDESK_EXPORT_OUTPUT_ROOT: stack.dir,
        ZENDESK_EXPORT_POSTGRES_WAREHOUSE: `postgres://${pg.user}@${pg.host}:${pg.port}/postgres`,
        PGPASSWORD: pg.password!, // The worker's alone: a URL with a password is refused.
      },
      { taskQueue: 'secrets', inheritEnv: false, logLevel: 'DEBUG' },
    );
    // A worker with only an email and password, which Zendesk no longer accepts.
    const passwordWorker = stack.worker(
      { ZENDESK_BASE_URL: stack.sim.url, ZENDESK_SUBDOMAIN: 'pwonly', ZENDESK_EMAIL: 'admin@example.com', ZENDESK_PASSWORD: password, ZENDESK_EXPORT_OUTPUT_ROOT: stack.dir },
      { taskQueue: 'secrets-password', inheritEnv: false, logLevel: 'DEBUG' },
    );
    const q = { ZENDESK_EXPORT_TASK_QUEUE: 'secrets' };
    const runs = [
      await cli(['run', 'all', '--account', 'secrets', '--start-time', '0', '--out', 'out', '--rate-limit', '1000/1'], q),
      await cli(['run', 'users', '--account', 'secrets', '--start-time', '0', '--dest', 'postgres:warehouse', '--rate-limit', '1000/1'], q),
      await cli(['--json', 'status', 'tickets', '--account', 'secrets'], q),
      await cli(['list', '--account', 'secrets'], q),
      // A refused token: the error names the account and the method, not the token.
      await cli(['run', 'organizations', '--account', 'secrets', '--start-time', '0', '--out', 'out'], { ...q, ZENDESK_SUBDOMAIN: 'secrets', ZENDESK_API_TOKEN: 'wrong-secret-token' }),
      // A target the worker does not have: refused at the start, naming what to set.
      await cli(['run', 'organizations', '--account', 'secrets', '--start-time', '0', '--dest', 'postgres:nope'], q),
      // A password is refused by the worker: the export fails saying so, without the password.
      await cli(['run', 'organizations', '--account', 'pwonly', '--start-time', '0', '--out', 'out'], { ZENDESK_EXPORT_TASK_QUEUE: 'secrets-password' }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 2, 2, 1]);
    expect(runs[0]!.stdout).toMatch(/^tickets\s+completed\s/m);
    expect(runs[5]!.stderr).toMatch(/The worker has no Postgres target "nope": set ZENDESK_EXPORT_POSTGRES_NOPE for it\./);
    expect(runs[6]!.stderr).toMatch(/password authentication was removed/i);
    expect(JSON.parse(readFileSync(store, 'utf8')).secrets).toMatch(/^sim-refresh-/); // The rotated token went to its store...

    const db = new PgClient({ connectionString: pg.url });
    await db.connect();
    const rows = await db.query("SELECT count(*)::int AS n FROM zendesk_users WHERE account = 'secrets'");
    await db.end();
    expect(rows.rows[0].n).toBe(60);

    const histories = await stack.histories(['zendesk-export/secrets/', 'zendesk-export/pwonly/', 'zendesk-account/']);
    expect(histories.length).toBeGreaterThanOrEqual(6);
    const everything = [oauthWorker.output(), passwordWorker.output(), ...runs.flatMap((r) => [r.stdout, r.stderr]), ...histories].join('\n');
    expect(everything).toMatch(/fetchPage/); // DEBUG logs really were captured.
    expect(everything).toContain('"target":"warehouse"'); // The histories name the target, never its URL.
    const secrets = [
      SIM_TOKEN,
      'wrong-secret-token',
      DEFAULT_OAUTH.clientSecret,
      DEFAULT_OAUTH.refreshToken,
      pg.password!,
      password,
      Buffer.from(`admin@example.com/token:${SIM_TOKEN}`).toString('base64'),
    ];
    for (const secret of secrets) expect(everything).not.toContain(secret);
    // ...and no issued access or refresh token appears anywhere else.
    expect(everything).not.toMatch(/sim-(access|refresh)-\d+-/);
  }, 240_000);
});
