/**
 * The CLI as a user runs it: `bin/zendesk-export.js` as a subprocess (built by `npm test`), against a
 * real dev server, the simulator and a worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer } from '../helpers/temporal';
import { simulatorEnv, SIM_TOKEN } from '../helpers/exports';
import { freePort } from '../../devserver';
import { startSimulator, type Simulator } from '../../simulator';

const CLI = path.resolve(__dirname, '../../bin/zendesk-export.js');
let server: DevServer;
let sim: Simulator;
let out: string;
let worker: ChildProcess;
let env: Record<string, string>;

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  server = await startDevServer();
  sim = await startSimulator({ sizes: { tickets: 120, users: 60, organizations: 30, ticket_events: 100 }, rateLimits: 'off', recentWindowSeconds: 0 });
  out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cli-'));
  env = { ...simulatorEnv(sim), TEMPORAL_ADDRESS: server.address, ZENDESK_SUBDOMAIN: 'clitest', ZENDESK_EXPORT_TASK_QUEUE: 'cli-test' };
  worker = spawn(process.execPath, [CLI, 'worker', '--log-level', 'WARN'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
});
afterAll(async () => {
  worker?.kill('SIGTERM');
  await sim?.close();
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe('bad input: one clear sentence, exit 2, nothing started', () => {
  test.each([
    [['run', 'tikets', '--start-time', '0'], /^Unknown resource "tikets"\. Choose one of: tickets, users, organizations, ticket_events, or all\.$/],
    [['run', 'tickets', '--start-time', 'yesterday'], /^Start time "yesterday" is neither Unix seconds nor an ISO date/],
    [['run', 'tickets', '--start-time', '2024-02-31T99:00'], /is neither Unix seconds nor an ISO date/],
    [['run', 'tickets', '--start-time', '2999-01-01'], /must be at least one minute in the past\.$/],
    [['run', 'tickets', '--start-time', '0', '--per-page', '5000'], /^Page size 5000 is out of range: use 1 to 1000\.$/],
    [['run', 'ticket_events', '--start-time', '0', '--include', 'users'], /has no sideload "users"; choose from: comment_events\.$/],
    [['run', 'organizations', '--start-time', '0', '--mode', 'cursor'], /^organizations can only be exported in time mode\.$/],
    [['run', 'tickets', '--start-time', '0', '--rate-limit', 'fast'], /must look like N\/SECONDS/],
    [['run', 'tickets', '--start-time', '0', '--mode', 'bogus'], /^Option '--mode <mode>' argument 'bogus' is invalid\. Allowed choices are cursor, time\. See --help\.$/],
    [['run', 'tickets', '--start-time', String(Math.floor(Date.now() / 1000) - 20)], /must be at least one minute in the past\.$/],
    [['run', 'tickets', '--start-time', '2024-13-01'], /is neither Unix seconds nor an ISO date/],
    [['run', 'tickets', '--start-time', '0', '--per-page', '0'], /^Page size 0 is out of range: use 1 to 1000\.$/],
    [['run', 'tickets', '--start-time', '0', '--bogus-flag'], /^Unknown option '--bogus-flag'\. See --help\.$/],
    [['frobnicate'], /^Unknown command 'frobnicate'\. See --help\.$/],
  ])('%j', async (args, message) => {
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

test('start, pause, resume and cancel a following export', async () => {
  const start = await cli(['start', 'users', '--start-time', '0', '--out', out, '--follow', '60', '--rate-limit', '1000/1']);
  expect(start.code).toBe(0);
  expect(start.stdout.trim()).toBe('Started zendesk-export/clitest/users/users_cursor');
  const again = await cli(['start', 'users', '--start-time', '0', '--out', out, '--follow', '60']);
  expect(again.stdout.trim()).toBe('zendesk-export/clitest/users/users_cursor is already running (nothing new started).');

  expect((await cli(['pause', 'users'])).code).toBe(0);
  await waitForStatus('users', 'paused');
  expect((await cli(['resume', 'users'])).code).toBe(0);
  await waitForStatus('users', 'following');
  const cancel = await cli(['cancel', 'users']);
  expect(cancel.stdout).toMatch(/Cancelling zendesk-export\/clitest\/users\/users_cursor/);
  await waitForStatus('users', 'cancelled');
});

test('a worker without credentials fails the export with one sentence, exit 1', async () => {
  const bare = spawn(process.execPath, [CLI, 'worker', '--log-level', 'ERROR'], {
    env: { PATH: process.env.PATH ?? '', TEMPORAL_ADDRESS: server.address, ZENDESK_EXPORT_TASK_QUEUE: 'no-credentials' },
    stdio: 'ignore',
  });
  try {
    const r = await cli(['run', 'tickets', '--start-time', '0', '--account', 'nocreds', '--out', out], { ZENDESK_EXPORT_TASK_QUEUE: 'no-credentials' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/failed: The worker has no Zendesk credentials for account "nocreds": set ZENDESK_EMAIL and ZENDESK_API_TOKEN/);
    expect(r.stdout + r.stderr).not.toContain(SIM_TOKEN);
  } finally {
    bare.kill('SIGTERM');
  }
});

async function waitForStatus(resource: string, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await cli(['--json', 'status', resource]);
    if (r.code === 0 && JSON.parse(r.stdout).state?.status === status) return;
    if (Date.now() > deadline) throw new Error(`status never became ${status}: ${r.stdout} ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
