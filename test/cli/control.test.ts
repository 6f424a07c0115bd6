/**
 * Controlling a running export from the CLI: two starts at once, a resume of a running export, pause
 * and resume, a new budget for the account, and a cancel then resume whose words agree with Temporal's
 * (the export is CANCELLED there, and resumes from where it was cancelled).
 */
import { useCliStack, until } from './stack';

const stack = useCliStack({ sizes: { tickets: 50, users: 60, organizations: 10, ticket_events: 20 }, rateLimits: 'off' });
const QUEUE = 'control';
const ID = 'zendesk-export/ctl/users/users_cursor';
const cli = (args: string[]) => stack.cli(args, stack.env('ctl', QUEUE));
const status = async () => JSON.parse((await cli(['--json', 'status', 'users'])).stdout) as { temporalStatus: string; state?: { status: string } };
const waitForStatus = (want: string) =>
  until(
    () => cli(['--json', 'status', 'users']),
    (r) => r.code === 0 && (JSON.parse(r.stdout) as { state?: { status: string } }).state?.status === want,
    `status ${want}`,
  );

beforeAll(() => {
  stack.worker(stack.env('ctl', QUEUE));
});

test('a new budget needs a running export of the account', async () => {
  const r = await cli(['budget', '30/60']);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe('No export of account ctl is running; give --rate-limit when you start one.');
});

test('two starts at once start one export; a second start and a resume of it change nothing', async () => {
  const args = ['start', 'users', '--start-time', '0', '--out', 'out', '--follow', '60', '--rate-limit', '1000/1'];
  const both = await Promise.all([cli(args), cli(args)]);
  expect(both.map((r) => r.code)).toEqual([0, 0]);
  expect(both.map((r) => r.stdout.trim())).toContain(`Started ${ID}`);
  expect((await cli(args)).stdout.trim()).toBe(`${ID} is already running (nothing new started).`);
  expect((await cli(['resume', 'users'])).stdout.trim()).toBe(`${ID} is already running; nothing to resume.`);
  const runs = await cli(['--json', 'list']);
  expect(runs.stdout.split('\n').filter((l) => l.includes(`"${ID}"`))).toHaveLength(1);
  await waitForStatus('following');
});

test('pause and resume', async () => {
  const pause = await cli(['pause', 'users']);
  expect(pause.stdout.trim()).toBe(`Paused ${ID} (it stays RUNNING in Temporal, fetching nothing). Resume it with: zendesk-export resume users --account ctl`);
  await waitForStatus('paused');
  expect((await cli(['resume', 'users'])).stdout.trim()).toBe(`Resumed ${ID}.`);
  await waitForStatus('following');
});

test("the budget command changes the running account's budget", async () => {
  const r = await cli(['budget', '20/60', '--bucket', 'incremental-exports-cursor']);
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('Account ctl: incremental-exports-cursor now 20 requests per 60s.');
});

test('cancel, then resume: CANCELLED in Temporal, and restarted from where it was cancelled', async () => {
  const cancel = await cli(['cancel', 'users']);
  expect(cancel.code).toBe(0);
  expect(cancel.stdout.trim()).toMatch(
    new RegExp(`^Cancelled ${ID} after \\d+ pages? and 60 records: it is CANCELLED in Temporal, which keeps where it stopped\\. Restart it from there with: zendesk-export resume users --account ctl$`),
  );
  expect(await status()).toMatchObject({ temporalStatus: 'CANCELLED', state: { status: 'cancelled' } });
  const shown = await cli(['status', 'users']);
  expect(shown.stdout).toContain(`${ID}  (CANCELLED in Temporal)`);
  expect(shown.stdout).toMatch(/Cancelled \(after \d+ pages?, 60 records\); zendesk-export resume users --account ctl restarts it from where it was cancelled\./);

  const again = await cli(['cancel', 'users']);
  expect(again.code).toBe(2);
  expect(again.stderr.trim()).toBe(`Export ${ID} is not running (it is CANCELLED in Temporal): nothing to cancel.`);

  const resume = await cli(['resume', 'users']);
  expect(resume.code).toBe(0);
  expect(resume.stdout.trim()).toMatch(new RegExp(`^Restarted ${ID} from where it was cancelled after \\d+ pages? and 60 records: a new run, RUNNING in Temporal\\.$`));
  expect((await status()).temporalStatus).toBe('RUNNING');
  await waitForStatus('following');
  // The resumed run went on from the position: no record fetched twice.
  expect((await status()).state).toMatchObject({ progress: { records: 60 } });
  await cli(['cancel', 'users']);
});
