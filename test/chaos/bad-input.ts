/**
 * The bad-input scenario of `npm run chaos`: every bad input of the CLI's table and a few that need an
 * environment (a refused token, Zendesk and Temporal unreachable, a folder on /proc, a database URL
 * with a password), each run with a temp working folder. Counted (refused with one sentence and exit
 * code 2, no stack, no secret echoed), recorded, then asserted: nothing reached Zendesk or Temporal.
 */
import { badInputs, runCli, type CliResult } from '../helpers/cli';
import type { Figures } from './figures';
import type { ChaosStack } from './harness';
import { scanForSecrets } from './leaks';

const TOKEN = 'wrong-secret-token';
const DB_PASSWORD = 'db-secret-77a1';

export async function badInputScenario(s: ChaosStack, figures: Figures): Promise<void> {
  const cases: { args: string[]; env: Record<string, string> }[] = [
    ...badInputs.map((b) => ({ args: b.args(Date.now()), env: {} })),
    { args: ['run', 'tickets', '--start-time', '0'], env: { ZENDESK_API_TOKEN: TOKEN } },
    { args: ['run', 'tickets', '--start-time', '0'], env: { ZENDESK_BASE_URL: 'http://127.0.0.1:9' } },
    { args: ['list'], env: { TEMPORAL_ADDRESS: '127.0.0.1:9' } },
    { args: ['run', 'tickets', '--start-time', '0', '--out', '/proc/version/export'], env: {} },
    { args: ['run', 'tickets', '--start-time', '0', '--dest', `postgres://u:${DB_PASSWORD}@127.0.0.1/db`], env: {} },
  ];
  const results: CliResult[] = [];
  for (const c of cases) results.push(await runCli(c.args, { ...s.cliEnv, ...c.env }, { cwd: s.out }));
  const refused = results.filter((r) => r.code === 2 && r.stderr.trim().split('\n').length === 1 && !/\n\s+at /.test(r.stderr));
  let started = 0;
  for await (const _ of s.client.client.workflow.list()) started++;
  const scan = await scanForSecrets(s, { texts: results.flatMap((r) => [r.stdout, r.stderr]), secrets: [TOKEN, DB_PASSWORD] });
  Object.assign(figures, scan, { badInputs: refused.length });

  expect(results.map((r, i) => ({ args: cases[i]!.args, code: r.code, lines: r.stderr.trim().split('\n').length }))).toEqual(
    cases.map((c) => ({ args: c.args, code: 2, lines: 1 })),
  );
  expect(refused).toHaveLength(cases.length);
  expect(scan.secretsLeaked).toBe(0);
  expect(s.sim.stats().requests).toBe(0);
  expect(started).toBe(0);
}
