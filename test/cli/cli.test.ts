/**
 * The CLI as a user runs it: `bin/zendesk-export.js` as a subprocess (built by `npm test`), against a
 * real dev server, the simulator and a worker process.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer } from '../helpers/temporal';
import { badInputs, runCli } from '../helpers/cli';
import { simulatorEnv, SIM_TOKEN } from '../helpers/exports';
import { freePort } from '../../devserver';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { DEFAULT_OAUTH, startSimulator, type Simulator } from '../../simulator';

let server: DevServer;
let sim: Simulator;
let out: string;
let worker: WorkerProcess;
let env: Record<string, string>;

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { ...env, ...extraEnv });

beforeAll(async () => {
  server = await startDevServer();
  sim = await startSimulator({ sizes: { tickets: 120, users: 60, organizations: 30, ticket_events: 100 }, rateLimits: 'off', recentWindowSeconds: 0 });
  out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cli-'));
  env = { ...simulatorEnv(sim), TEMPORAL_ADDRESS: server.address, ZENDESK_SUBDOMAIN: 'clitest', ZENDESK_EXPORT_TASK_QUEUE: 'cli-test' };
  worker = startWorkerProcess({ temporalAddress: server.address, taskQueue: 'cli-test', env });
});
afterAll(async () => {
  await worker?.kill();
  await sim?.close();
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe('bad input: one clear sentence, exit 2, nothing started', () => {
  test.each(badInputs())('%j', async (args, message) => {
    const before = sim.stats().requests;
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(sim.stats().requests).toBe(before);
  });

  test('unreachable Temporal', async () => {
    const r = await cli(['list'], { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot reach Temporal at 127\.0\.0\.1:\d+: start a server/);
  });

  test('wrong credentials: refused before anything starts, naming the account, never the token', async () => {
    const before = sim.stats().requests;
    const r = await cli(['run', 'tickets', '--start-time', '0', '--out', out], { ZENDESK_API_TOKEN: 'wrong-secret-token' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('Zendesk refused the credentials for account "clitest" (API token of admin@example.com, HTTP 401): check them, or pass --no-probe if the worker has others.');
    expect(r.stdout + r.stderr).not.toContain('wrong-secret-token');
    expect(sim.stats().requests).toBe(before);
  });

  test('an output folder that cannot be written', async () => {
    const file = path.join(out, 'a-file');
    writeFileSync(file, '');
    const r = await cli(['run', 'tickets', '--start-time', '0', '--out', path.join(file, 'export')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot write to the output folder .*a-file\/export \(ENOTDIR\): choose another with --out\.$/);
  });

  test('unreachable Zendesk', async () => {
    const r = await cli(['run', 'tickets', '--start-time', '0'], { ZENDESK_BASE_URL: `http://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot reach Zendesk at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});

test('run exports and exits 0; status, list and a second start agree', async () => {
  const run = await cli(['run', 'organizations', '--start-time', '0', '--out', out, '--rate-limit', '1000/1']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/zendesk-export\/clitest\/organizations\/organizations: completed, 30 records/);
  expect(readdirSync(path.join(out, 'clitest', 'organizations')).length).toBeGreaterThan(0);

  const status = await cli(['--json', 'status', 'organizations']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ temporalStatus: 'COMPLETED', state: { status: 'completed', records: 30 } });

  const list = await cli(['list']);
  expect(list.stdout).toMatch(/zendesk-export\/clitest\/organizations\/organizations\s+COMPLETED/);
});

test('two starts at once, a resume while running, pause, resume and cancel of a following export', async () => {
  const args = ['start', 'users', '--start-time', '0', '--out', out, '--follow', '60', '--rate-limit', '1000/1'];
  const both = await Promise.all([cli(args), cli(args)]);
  expect(both.map((r) => r.code)).toEqual([0, 0]);
  expect(both.map((r) => r.stdout.trim())).toContain('Started zendesk-export/clitest/users/users_cursor');
  const again = await cli(['start', 'users', '--start-time', '0', '--out', out, '--follow', '60']);
  expect(again.stdout.trim()).toBe('zendesk-export/clitest/users/users_cursor is already running (nothing new started).');
  expect((await cli(['resume', 'users'])).stdout.trim()).toBe('zendesk-export/clitest/users/users_cursor is already running; nothing to resume.');
  const runs = await cli(['--json', 'list']);
  expect(runs.stdout.split('\n').filter((l) => l.includes('"zendesk-export/clitest/users/users_cursor"'))).toHaveLength(1);

  expect((await cli(['pause', 'users'])).code).toBe(0);
  await waitForStatus('users', 'paused');
  expect((await cli(['resume', 'users'])).code).toBe(0);
  await waitForStatus('users', 'following');
  const cancel = await cli(['cancel', 'users']);
  expect(cancel.stdout).toMatch(/Cancelling zendesk-export\/clitest\/users\/users_cursor/);
  await waitForStatus('users', 'cancelled');
});

test('a worker without credentials fails the export with one sentence, exit 1', async () => {
  const bare = startWorkerProcess({ temporalAddress: server.address, taskQueue: 'no-credentials', env: {}, inheritEnv: false, logLevel: 'ERROR' });
  try {
    const r = await cli(['run', 'tickets', '--start-time', '0', '--account', 'nocreds', '--out', out], { ZENDESK_EXPORT_TASK_QUEUE: 'no-credentials' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/failed: The worker has no Zendesk credentials for account "nocreds": set ZENDESK_EMAIL and ZENDESK_API_TOKEN/);
    expect(r.stdout + r.stderr).not.toContain(SIM_TOKEN);
  } finally {
    await bare.kill();
  }
});

test('no secret in any log line, CLI output, error or workflow history of a full export run', async () => {
  const store = path.join(out, 'token-store.json');
  const pgPassword = 'pg-secret-4b1d';
  const password = 'zendesk-password-9c2e';
  const oauthWorker = startWorkerProcess({
    temporalAddress: server.address,
    taskQueue: 'secrets',
    inheritEnv: false,
    logLevel: 'DEBUG',
    captureOutput: true,
    env: {
      ZENDESK_BASE_URL: sim.url,
      ZENDESK_OAUTH_CLIENT_ID: DEFAULT_OAUTH.clientId,
      ZENDESK_OAUTH_CLIENT_SECRET: DEFAULT_OAUTH.clientSecret,
      ZENDESK_OAUTH_REFRESH_TOKEN: DEFAULT_OAUTH.refreshToken,
      ZENDESK_TOKEN_STORE: store,
      ZENDESK_PASSWORD: password, // Ignored beside OAuth, but present.
      PGPASSWORD: pgPassword,
    },
  });
  // A worker with only an email and password, which Zendesk no longer accepts.
  const passwordWorker = startWorkerProcess({
    temporalAddress: server.address,
    taskQueue: 'secrets-password',
    inheritEnv: false,
    logLevel: 'DEBUG',
    captureOutput: true,
    env: { ZENDESK_BASE_URL: sim.url, ZENDESK_EMAIL: 'admin@example.com', ZENDESK_PASSWORD: password },
  });
  const q = { ZENDESK_EXPORT_TASK_QUEUE: 'secrets' };
  try {
    const runs = [
      await cli(['run', 'all', '--account', 'secrets', '--start-time', '0', '--out', out, '--rate-limit', '1000/1'], q),
      await cli(['--json', 'status', 'tickets', '--account', 'secrets'], q),
      await cli(['list', '--account', 'secrets'], q),
      // A refused token: the error names the account and the method, not the token.
      await cli(['run', 'organizations', '--account', 'secrets', '--start-time', '0', '--out', out], { ...q, ZENDESK_API_TOKEN: 'wrong-secret-token' }),
      // A password is refused by the worker: the export fails saying so, without the password.
      await cli(['run', 'organizations', '--account', 'pwonly', '--start-time', '0', '--out', out], { ZENDESK_EXPORT_TASK_QUEUE: 'secrets-password' }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 2, 1]);
    expect(runs[4]!.stderr).toMatch(/password authentication was removed/i);
    expect(runs[0]!.stdout).toMatch(/tickets\/tickets_cursor: completed/);
    expect(JSON.parse(readFileSync(store, 'utf8')).secrets).toMatch(/^sim-refresh-/); // The rotated token went to its store...

    const connection = await Connection.connect({ address: server.address });
    const histories: string[] = [];
    try {
      const client = new Client({ connection });
      for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH 'zendesk-export/secrets/' OR WorkflowId STARTS_WITH 'zendesk-export/pwonly/' OR WorkflowId STARTS_WITH 'zendesk-account/'` })) {
        const history = JSON.stringify(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
        histories.push(history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8')));
      }
    } finally {
      await connection.close();
    }
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const everything = [oauthWorker.output(), passwordWorker.output(), ...runs.flatMap((r) => [r.stdout, r.stderr]), ...histories].join('\n');
    expect(everything).toMatch(/fetchPage/); // DEBUG logs really were captured.
    const secrets = [SIM_TOKEN, 'wrong-secret-token', DEFAULT_OAUTH.clientSecret, DEFAULT_OAUTH.refreshToken, pgPassword, password, Buffer.from(`admin@example.com/token:${SIM_TOKEN}`).toString('base64')];
    for (const secret of secrets) expect(everything).not.toContain(secret);
    // ...and no issued access or refresh token appears anywhere else.
    expect(everything).not.toMatch(/sim-(access|refresh)-\d+-/);
  } finally {
    await Promise.all([oauthWorker.kill(), passwordWorker.kill()]);
  }
}, 180_000);

async function waitForStatus(resource: string, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await cli(['--json', 'status', resource]);
    if (r.code === 0 && JSON.parse(r.stdout).state?.status === status) return;
    if (Date.now() > deadline) throw new Error(`status never became ${status}: ${r.stdout} ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
