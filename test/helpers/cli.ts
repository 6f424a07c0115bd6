/** The CLI as a user runs it (`bin/zendesk-export.js`, built by `npm test`), and the bad inputs it must refuse. */
import { spawn } from 'node:child_process';
import { CLI_PATH } from '../../devserver/worker-process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with this process's environment plus `env`, and resolves when it exits. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Each must end in one sentence on stderr, exit code 2, and nothing sent anywhere (`now` dates the relative ones). */
export const badInputs = (now = Date.now()): [string[], RegExp][] => [
  [['run', 'tikets', '--start-time', '0'], /^Unknown resource "tikets"\. Choose one of: tickets, users, organizations, ticket_events, or all\.$/],
  [['run', 'tickets', '--start-time', 'yesterday'], /^Start time "yesterday" is neither Unix seconds nor an ISO date/],
  [['run', 'tickets', '--start-time', '2024-02-31T99:00'], /is neither Unix seconds nor an ISO date/],
  [['run', 'tickets', '--start-time', '2999-01-01'], /must be at least one minute in the past\.$/],
  [['run', 'tickets', '--start-time', '0', '--per-page', '5000'], /^Page size 5000 is out of range: use 1 to 1000\.$/],
  [['run', 'ticket_events', '--start-time', '0', '--include', 'users'], /has no sideload "users"; choose from: comment_events\.$/],
  [['run', 'organizations', '--start-time', '0', '--mode', 'cursor'], /^organizations can only be exported in time mode\.$/],
  [['run', 'tickets', '--start-time', '0', '--rate-limit', 'fast'], /must look like N\/SECONDS/],
  [['run', 'tickets', '--start-time', '0', '--mode', 'bogus'], /^Option '--mode <mode>' argument 'bogus' is invalid\. Allowed choices are cursor, time\. See --help\.$/],
  [['run', 'tickets', '--start-time', String(Math.floor(now / 1000) - 20)], /must be at least one minute in the past\.$/],
  [['run', 'tickets', '--start-time', '2024-13-01'], /is neither Unix seconds nor an ISO date/],
  [['run', 'tickets', '--start-time', '0', '--per-page', '0'], /^Page size 0 is out of range: use 1 to 1000\.$/],
  [['run', 'tickets', '--start-time', '0', '--bogus-flag'], /^Unknown option '--bogus-flag'\. See --help\.$/],
  [['frobnicate'], /^Unknown command 'frobnicate'\. See --help\.$/],
];
