/**
 * Commands that do what they say, run as a user runs them (subprocesses against a real dev server,
 * the simulator and worker processes): `all` acts on every export of the account, `--rate-limit` on a
 * start changes a running account's budget, credentials given with only `--account` are checked, a
 * `--dest` typo is named, and the worker says what is wrong with its set-up and why exports failed.
 */
import { Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { findTemporalCli, freePort } from '../../devserver';
import { SIM_TOKEN } from '../helpers/exports';
import { useCliStack, until } from './stack';

const stack = useCliStack({ sizes: { tickets: 30, users: 20, organizations: 10, ticket_events: 20 }, rateLimits: 'off' });
const QUEUE = 'commands';
const env = () => stack.env('every', QUEUE);
const cli = (args: string[], extra: Record<string, string> = {}) => stack.cli(args, { ...env(), ...extra });
const RESOURCES = ['tickets', 'users', 'organizations', 'ticket_events'];
const idOf = (resource: string) => ({ tickets: 'tickets/tickets_cursor', users: 'users/users_cursor', organizations: 'organizations/organizations', ticket_events: 'ticket_events/ticket_events' })[resource]!;
const ID = (resource: string) => `zendesk-export/every/${idOf(resource)}`;

/** `status all --json`: one object per export. */
async function statuses(): Promise<{ workflowId: string; temporalStatus: string; state?: { status: string; pace: { budget: { requests: number; seconds: number } } } }[]> {
  const r = await cli(['--json', 'status', 'all']);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}
const allAre = (want: string) => until(() => cli(['--json', 'status', 'all']), (r) => r.code === 0 && r.stdout.trim().split('\n').filter((l) => JSON.parse(l).state?.status === want).length === 4, `all ${want}`);

describe('every export of the account', () => {
  let worker: ReturnType<typeof stack.worker>;
  beforeAll(() => {
    worker = stack.worker(env());
  });

  test('--rate-limit on a start that joins running exports is the account budget from then on, as budget sets it', async () => {
    const first = await cli(['start', 'organizations', '--start-time', '0', '--out', 'out', '--follow', '600', '--rate-limit', '10/60']);
    expect(first.code).toBe(0);
    const all = await cli(['start', 'all', '--start-time', '0', '--out', 'out', '--follow', '600', '--rate-limit', '30/60']);
    expect(all.code).toBe(0);
    await allAre('following');
    // The incremental-exports bucket (tickets' own is the cursor one) was 10/60 and is now 30/60, for the export that set it too.
    await until(
      () => cli(['--json', 'status', 'organizations']),
      (r) => JSON.stringify(JSON.parse(r.stdout).state?.pace?.budget) === '{"requests":30,"seconds":60}',
      'organizations paced at 30/60',
    );
    for (const s of await statuses()) expect(s.state?.pace.budget).toEqual({ requests: 30, seconds: 60 });
  });

  test('status all: each export of the account', async () => {
    const r = await cli(['status', 'all']);
    expect(r.code).toBe(0);
    for (const resource of RESOURCES) expect(r.stdout).toContain(`${ID(resource)}  (RUNNING in Temporal)`);
  });

  test('pause all, resume all: every export, not tickets alone', async () => {
    const pause = await cli(['pause', 'all']);
    expect(pause.code).toBe(0);
    expect(pause.stdout.trim().split('\n').sort()).toEqual(
      RESOURCES.map((r) => `Paused ${ID(r)} (it stays RUNNING in Temporal, fetching nothing). Resume it with: zendesk-export resume ${r} --account every`).sort(),
    );
    await allAre('paused');
    const resume = await cli(['resume', 'all']);
    expect(resume.stdout.trim().split('\n').sort()).toEqual(RESOURCES.map((r) => `Resumed ${ID(r)}.`).sort());
    await allAre('following');
  });

  test('cancel all: every export ends CANCELLED; a second cancel all has nothing to cancel', async () => {
    const cancel = await cli(['cancel', 'all']);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout.match(/^Cancelled zendesk-export\/every\/\S+ after/gm)).toHaveLength(4);
    expect((await statuses()).map((s) => s.temporalStatus)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
    const again = await cli(['cancel', 'all']);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n').sort()).toEqual(
      [...RESOURCES.map((r) => `Export ${ID(r)} is not running (it is CANCELLED in Temporal): nothing to cancel.`), 'Nothing to cancel.'].sort(),
    );
  });

  test("a failed export: status exits 1, and the worker's log line says why it failed", async () => {
    const r = await cli(['run', 'organizations', '--account', 'elsewhere', '--start-time', '0', '--out', 'out']);
    expect(r.code).toBe(1);
    const status = await cli(['status', 'organizations', '--account', 'elsewhere']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^failed: The worker's credentials are not for account "elsewhere"/m);
    const logged = worker.output().split('\n').find((l) => l.includes('Workflow failed') && l.includes('zendesk-export/elsewhere/'));
    expect(logged).toMatch(/"message":"The worker's credentials are not for account \\"elsewhere\\"/);
  });
});

describe('mistakes named as they are', () => {
  test('a --dest that is not a Postgres target is named, not taken as a folder', async () => {
    const r = await cli(['run', 'tickets', '--start-time', '0', '--dest', 'mysql']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--dest takes postgres, postgres:<name>, s3 or s3:<name>, not "mysql"; an output folder goes in --out.');
  });

  test('credentials given with only --account are checked for that account before anything starts', async () => {
    const r = await stack.cli(['start', 'tickets', '--account', 'solo', '--start-time', '0', '--out', 'out'], {
      ...env(),
      ZENDESK_SUBDOMAIN: '',
      ZENDESK_API_TOKEN: 'wrong-secret-token',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Zendesk refused the credentials for account "solo" \(API token, HTTP 401\)/);
    expect((await cli(['status', 'tickets', '--account', 'solo'])).stderr.trim()).toBe('There is no export zendesk-export/solo/tickets/tickets_cursor.');
  });

  test('with Temporal down, a command says so before gRPC would have given up connecting (10 s)', async () => {
    const began = Date.now();
    const r = await cli(['status', 'tickets'], { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Cannot reach Temporal at 127\.0\.0\.1:\d+: start a server/);
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  test('cancel with no worker says no worker took it up, and what comes next', async () => {
    const gone = { ZENDESK_EXPORT_TASK_QUEUE: 'commands-gone', ZENDESK_SUBDOMAIN: 'gone' };
    const worker = stack.worker({ ...env(), ...gone });
    expect((await cli(['start', 'users', '--start-time', '0', '--out', 'out', '--follow', '600'], gone)).code).toBe(0);
    await until(() => cli(['--json', 'status', 'users'], gone), (r) => JSON.parse(r.stdout).state?.status === 'following', 'users following');
    await worker.kill('SIGKILL');
    const r = await cli(['cancel', 'users'], gone);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      'Cancelling zendesk-export/gone/users/users_cursor: no worker has taken the cancel up (is "zendesk-export worker" running on task queue "commands-gone"?); ' +
        'it ends as CANCELLED in Temporal once one finishes its page in flight. Restart it later from where it was cancelled with: zendesk-export resume users --account gone',
    );
  });

  test('a worker with credentials but no account they serve warns at start', async () => {
    const worker = stack.worker(
      { ZENDESK_BASE_URL: stack.sim.url, ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: SIM_TOKEN, ZENDESK_EXPORT_OUTPUT_ROOT: stack.dir },
      { taskQueue: 'commands-unbound', inheritEnv: false, logLevel: 'INFO' },
    );
    await until(
      async () => ({ code: 0, stdout: worker.output(), stderr: '' }),
      (r) => r.stdout.includes('Worker polling'),
      'the worker to poll',
    );
    expect(worker.output()).toContain('The ZENDESK_* credentials serve no account: set ZENDESK_SUBDOMAIN (or ZENDESK_ACCOUNTS) to the account they are for');
    expect(worker.output()).not.toContain(SIM_TOKEN);
    await worker.kill('SIGTERM');
  });

  test('a worker on a namespace without the search attributes says so, with the fix', async () => {
    const connection = await Connection.connect({ address: stack.server.address });
    try {
      execFileSync(findTemporalCli()!, ['operator', 'namespace', 'create', '--address', stack.server.address, '--namespace', 'bare'], { stdio: 'ignore' });
      // A new namespace reaches every service's cache in a while: wait until it answers.
      await until(
        () => connection.operatorService.listSearchAttributes({ namespace: 'bare' }).then(() => ({ code: 0, stdout: '', stderr: '' }), (e: Error) => ({ code: 1, stdout: '', stderr: e.message })),
        (r) => r.code === 0,
        'the namespace to answer',
      );
    } finally {
      await connection.close();
    }
    const worker = stack.worker({ ...env(), TEMPORAL_NAMESPACE: 'bare' }, { taskQueue: 'commands-bare', logLevel: 'INFO' });
    await until(async () => ({ code: 0, stdout: worker.output(), stderr: '' }), (r) => r.stdout.includes('Worker polling'), 'the worker to poll');
    expect(worker.output()).toContain(
      'Namespace bare lacks the search attributes ZendeskAccount, ZendeskResource, ZendeskEndpoint, ZendeskExportStatus: exports run, but the Temporal UI cannot filter them.',
    );
    await worker.kill('SIGTERM');
  });
});
