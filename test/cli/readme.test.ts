/**
 * Every command the README's "Using the CLI" section shows, read from README.md when the test runs
 * and run in its order, as a user would in two terminals: the worker in the first (with the
 * simulator's address and credentials for the README's placeholders), the rest in the second. A
 * line that drifts from what the CLI does breaks this test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../devserver';
import type { CliResult, RunningProcess } from '../helpers/cli';
import { useCliStack } from './stack';

const stack = useCliStack({ sizes: { tickets: 30, users: 20, organizations: 10, ticket_events: 20 }, rateLimits: 'off' });

/** The README's CLI section: its first shell block, as `export` assignments and commands, in order. */
function readmeSteps(): ({ kind: 'env'; vars: Record<string, string> } | { kind: 'command'; args: string[]; line: string })[] {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split(/^## Using the CLI$/m)[1]!.split(/^## /m)[0]!;
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const steps: ReturnType<typeof readmeSteps> = [];
  for (const raw of block.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    if (line.startsWith('export ')) {
      steps.push({ kind: 'env', vars: Object.fromEntries(line.slice('export '.length).split(/\s+/).map((a) => a.split('=') as [string, string])) });
      continue;
    }
    for (const command of line.split(' && ')) {
      const [program, ...args] = command.trim().split(/\s+/);
      expect({ program, quoted: /["'`$]/.test(command) }).toEqual({ program: 'zendesk-export', quoted: false });
      steps.push({ kind: 'command', args, line: command.trim() });
    }
  }
  return steps;
}

/** Placeholders the README shows for a real account: the simulator's stand in for them. */
const CREDENTIALS = ['ZENDESK_EMAIL', 'ZENDESK_API_TOKEN'];

test("the README's CLI lines run, in order, each doing what its comment says", async () => {
  const steps = readmeSteps();
  expect(steps.filter((s) => s.kind === 'command').length).toBeGreaterThanOrEqual(10);
  // The simulator's address and credentials, a task queue of this test's; no output root but the README's.
  const env: Record<string, string> = { ...stack.env('acme', 'readme'), ZENDESK_EXPORT_OUTPUT_ROOT: '' };
  const results: { line: string; result: CliResult | number; output?: string }[] = [];
  let worker: RunningProcess | undefined;
  for (const step of steps) {
    if (step.kind === 'env') {
      for (const [name, value] of Object.entries(step.vars)) if (!CREDENTIALS.includes(name)) env[name] = value;
      continue;
    }
    const [command] = step.args;
    if (command === 'worker') {
      // Terminal 1 runs until the end; its metrics port is a free one on this shared machine.
      const port = String(await freePort());
      worker = stack.startCli(step.args.map((a) => a.replace(/^(127\.0\.0\.1):\d+$/, `$1:${port}`)), env);
      await worker.waitFor(/Worker polling task queue "readme"/);
    } else if (command === 'watch') {
      // Live until the exports end, and follow exports never do: watch every one, then Ctrl-C.
      const watch = stack.startCli(step.args, env);
      for (const resource of ['tickets', 'users', 'organizations', 'ticket_events']) await watch.waitFor(new RegExp(`^${resource}\\s+following`, 'm'));
      watch.interrupt();
      results.push({ line: step.line, result: await watch.exited, output: watch.output() });
    } else {
      results.push({ line: step.line, result: await stack.cli(step.args, env) });
    }
  }
  expect(worker).toBeDefined();
  const codes = results.map(({ line, result }) => [line, typeof result === 'number' ? result : result.code]);
  expect(codes).toEqual(results.map(({ line }) => [line, line === 'zendesk-export watch' ? 130 : 0]));

  const out = (start: string) => results.find((r) => r.line.startsWith(start))!.result as CliResult;
  expect(out('zendesk-export run tickets').stdout).toMatch(/^tickets\s+completed\s+\d+ pages?\s+30 records/m);
  expect(out('zendesk-export start all').stdout).toMatch(/^Started zendesk-export\/acme\/ticket_events\/ticket_events$/m);
  expect(out('zendesk-export status tickets').stdout).toContain('zendesk-export/acme/tickets/tickets_cursor  (RUNNING in Temporal)');
  expect(out('zendesk-export budget').stdout.trim()).toBe('Account acme: incremental-exports now 30 requests per 60s.');
  expect(out('zendesk-export pause tickets').stdout).toMatch(/^Paused zendesk-export\/acme\/tickets\/tickets_cursor/);
  expect(out('zendesk-export resume tickets').stdout.trim()).toBe('Resumed zendesk-export/acme/tickets/tickets_cursor.');
  expect(out('zendesk-export cancel users').stdout).toMatch(/^Cancelled zendesk-export\/acme\/users\/users_cursor after .*: it is CANCELLED in Temporal/);
  expect(out('zendesk-export resume users').stdout).toMatch(/^Restarted zendesk-export\/acme\/users\/users_cursor from where it was cancelled/);
  expect(out('zendesk-export list').stdout).toMatch(/^zendesk-export\/acme\/users\/users_cursor\s+RUNNING/m);
  await stack.cli(['cancel', 'all'], env);
}, 400_000);
