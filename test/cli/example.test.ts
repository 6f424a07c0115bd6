/**
 * examples/embed.ts as a user runs it (`node dist/examples/embed.js`, built by `npm test`), against a
 * real dev server and the simulator: on its own it exports and exits 0; beside a follow export of
 * the account it says it attached to it, and Ctrl-C stops it cleanly with exit 0.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { follow } from '../helpers/cli';
import { useCliStack, until } from './stack';

const stack = useCliStack({ sizes: { tickets: 30, users: 20, organizations: 5, ticket_events: 5 }, rateLimits: 'off' });
const EXAMPLE = path.resolve(__dirname, '..', '..', 'dist', 'examples', 'embed.js');
const example = (env: Record<string, string>) =>
  follow(spawn(process.execPath, [EXAMPLE], { cwd: stack.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));

test('on its own, it exports tickets and users and exits 0', async () => {
  const app = example(stack.env('embedded', 'embed-alone'));
  expect(await app.exited).toBe(0);
  expect(app.output()).toContain('Started zendesk-export/embedded/tickets/tickets_cursor.');
  expect(app.output()).toMatch(/^zendesk-export\/embedded\/tickets\/tickets_cursor: completed, 30 records in \d+ pages$/m);
  expect(app.output()).toMatch(/^zendesk-export\/embedded\/users\/users_cursor: completed, 20 records in \d+ pages$/m);
});

test('it says it attached to a follow export, and Ctrl-C stops it with exit 0', async () => {
  const env = stack.env('following', 'embed-follow');
  stack.worker(env);
  expect((await stack.cli(['start', 'users', '--start-time', '0', '--out', 'export', '--follow', '600'], env)).code).toBe(0);
  await until(() => stack.cli(['--json', 'status', 'users'], env), (r) => JSON.parse(r.stdout).state?.status === 'following', 'users following');

  const app = example(env);
  await app.waitFor(/^Attached to zendesk-export\/following\/users\/users_cursor, already running since \S+\. It is in follow mode and never ends: Ctrl-C stops this app, and the export goes on\.$/m);
  await app.waitFor(/^zendesk-export\/following\/tickets\/tickets_cursor: completed, 30 records/m);
  app.interrupt();
  expect(await app.exited).toBe(0);
  expect(app.output()).toContain('Stopped following; the exports go on in Temporal (run this again to attach to them).');
  expect(app.output()).not.toMatch(/Promise did not resolve|Error/);
  expect(JSON.parse((await stack.cli(['--json', 'status', 'users'], env)).stdout).temporalStatus).toBe('RUNNING');
});
