/**
 * The CLI as a user runs it (`bin/zendesk-export.js`, built by `npm test`), run to its end or watched
 * while it runs, and the bad inputs it must refuse.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH } from '../../devserver/worker-process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The working folder: tests give a temp folder, so a relative path the CLI resolves never lands in the project. */
  cwd: string;
}

/** Runs the CLI with this process's environment plus `env`, and resolves when it exits. */
export function runCli(args: string[], env: Record<string, string>, options: CliOptions): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A process whose output a test follows while it runs. */
export interface RunningProcess {
  /** stdout and stderr so far, in the order they came. */
  output(): string;
  /** Resolves once the output matches; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Ctrl-C, as a terminal sends it. */
  interrupt(): void;
  kill(): void;
  /** The exit code (128 + n for a signal). */
  readonly exited: Promise<number>;
}

const running = new Set<RunningProcess>();
/** Ends every followed process still running (tests call it in afterAll). */
export function killRunning(): void {
  for (const p of running) p.kill();
}

/** Follows a child's output: `waitFor` a line, then interrupt it or wait for its exit code. */
export function follow(child: ChildProcess): RunningProcess {
  let output = '';
  let ended: string | undefined;
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  const append = (d: Buffer) => {
    output += d.toString();
    for (const w of [...waiters]) {
      const match = output.match(w.pattern);
      if (!match) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(match);
    }
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(proc);
      ended = String(code ?? signal);
      for (const w of waiters.splice(0)) w.reject(new Error(`exited (${ended}) without printing ${w.pattern}:\n${output}`));
      resolve(code ?? 128);
    }),
  );
  const proc: RunningProcess = {
    output: () => output,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const match = output.match(pattern);
        if (match) return resolve(match);
        if (ended !== undefined) return reject(new Error(`exited (${ended}) without printing ${pattern}:\n${output}`));
        waiters.push({ pattern, resolve, reject });
      }),
    interrupt: () => void child.kill('SIGINT'),
    kill: () => void child.kill('SIGKILL'),
    exited,
  };
  running.add(proc);
  return proc;
}

/** The CLI as a process to follow while it runs (`run` waiting for a worker, say). */
export function startCli(args: string[], env: Record<string, string>, options: CliOptions): RunningProcess {
  return follow(spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

export interface BadInput {
  /** How the case is named in the test list. */
  name: string;
  /** The arguments, made when the case runs: a relative date is computed then, not when the table was built. */
  args: (nowMs: number) => string[];
  /** The one sentence on stderr. */
  message: RegExp;
}

const bad = (name: string, args: string[] | ((nowMs: number) => string[]), message: RegExp): BadInput => ({
  name,
  args: typeof args === 'function' ? args : () => args,
  message,
});
const seconds = (ms: number) => String(Math.floor(ms / 1000));

/**
 * Each must end in one sentence on stderr, exit code 2, and nothing sent anywhere. Run them with a
 * temp folder as the working folder: a case that slipped through would write its export there.
 */
export const badInputs: readonly BadInput[] = [
  bad('unknown resource', ['run', 'tikets', '--start-time', '0'], /^Unknown resource "tikets"\. Choose one of: tickets, users, organizations, ticket_events, or all\.$/),
  bad('a start time in words', ['run', 'tickets', '--start-time', 'yesterday'], /^Start time "yesterday" is neither Unix seconds nor a real ISO date/),
  bad('a date that does not round-trip', ['run', 'tickets', '--start-time', '2024-02-31'], /^Start time "2024-02-31" is neither Unix seconds nor a real ISO date/),
  bad('an hour that does not exist', ['run', 'tickets', '--start-time', '2024-02-31T99:00'], /is neither Unix seconds nor a real ISO date/),
  bad('a month that does not exist', ['run', 'tickets', '--start-time', '2024-13-01'], /is neither Unix seconds nor a real ISO date/),
  bad('a date in the future', ['run', 'tickets', '--start-time', '2999-01-01'], /^Start time 2999-01-01T00:00:00\.000Z is in the future: it must be at least one minute in the past\.$/),
  bad('an hour from now', (now) => ['run', 'tickets', '--start-time', seconds(now + 3_600_000)], /is in the future: it must be at least one minute in the past\.$/),
  bad('20 seconds ago', (now) => ['run', 'tickets', '--start-time', seconds(now - 20_000)], /^Start time \S+ must be at least one minute in the past\.$/),
  bad('milliseconds', (now) => ['run', 'tickets', '--start-time', String(now - 3_600_000)], /looks like milliseconds; give Unix seconds \(\d+\)\.$/),
  bad('a huge number', ['run', 'tickets', '--start-time', '9999999999999999'], /^Start time 9999999999999999 is in the future: it must be at least one minute in the past\.$/),
  bad('more digits than any time', ['run', 'tickets', '--start-time', '99999999999999999999'], /is neither Unix seconds nor a real ISO date/),
  bad('a page size too big', ['run', 'tickets', '--start-time', '0', '--per-page', '5000'], /^--per-page is not a page size from 1 to 1000\.$/),
  bad('a page size of 0', ['run', 'tickets', '--start-time', '0', '--per-page', '0'], /^--per-page is not a page size from 1 to 1000\.$/),
  bad('an unknown sideload', ['run', 'ticket_events', '--start-time', '0', '--include', 'users'], /^--include names a sideload the ticket_events endpoint does not have \("users"\); choose from: comment_events\.$/),
  bad('cursor mode for organizations', ['run', 'organizations', '--start-time', '0', '--mode', 'cursor'], /^organizations can only be exported in time mode\.$/),
  bad('a rate limit in words', ['run', 'tickets', '--start-time', '0', '--rate-limit', 'fast'], /must look like N\/SECONDS/),
  bad('a rate limit too high', ['run', 'tickets', '--start-time', '0', '--rate-limit', '100000/1'], /^--rate-limit is not a number of requests from 1 to 1000\.$/),
  bad('a follow interval too long', ['run', 'tickets', '--start-time', '0', '--follow', '999999999'], /^--follow is not a number of seconds from 1 to 86400\.$/),
  bad('an unknown mode', ['run', 'tickets', '--start-time', '0', '--mode', 'bogus'], /^Option '--mode <mode>' argument 'bogus' is invalid\. Allowed choices are cursor, time\. See --help\.$/),
  bad('a database URL with a broken host', ['run', 'tickets', '--start-time', '0', '--dest', 'postgres://[bad'], /^Name a Postgres target the worker knows: --dest postgres \(its ZENDESK_EXPORT_POSTGRES\) or --dest postgres:<name>/),
  bad('another database', ['run', 'tickets', '--start-time', '0', '--dest', 'mysql://x'], /^"mysql:\/\/x" is not a destination: give a folder, postgres, postgres:<name>, s3 or s3:<name>\.$/),
  bad('a bucket instead of an S3 target', ['run', 'tickets', '--start-time', '0', '--dest', 's3://acme-raw/zendesk'], /^Name an S3 target the worker knows: --dest s3 \(its ZENDESK_EXPORT_S3\) or --dest s3:<name>/),
  bad('an output folder under /proc', ['run', 'tickets', '--start-time', '0', '--out', '/proc/nope'], /^The output folder \/proc\/nope is on \/proc, which holds no files: choose another with --out\.$/),
  bad('an output folder under /proc, unchecked', ['run', 'tickets', '--start-time', '0', '--no-probe', '--out', '/proc/nope'], /^The output folder \/proc\/nope is on \/proc/),
  bad('an unknown profile', ['--profile', 'nope', 'list'], /^The Temporal connection settings cannot be used: Profile 'nope' not found/),
  bad('a quote in an account name', ['list', '--account', "a'b"], /^Account "a'b" is not a Zendesk subdomain/),
  bad('a budget of no seconds', ['budget', '5/0'], /^Rate limit "5\/0" must look like N\/SECONDS/),
  bad('a worker cache of one workflow', ['worker', '--cached-workflows', '1'], /^--cached-workflows takes at least 2\.$/),
  bad('a worker cache that is not a number', ['worker', '--cached-workflows', 'many'], /^--cached-workflows takes a whole number, not "many"\.$/),
  bad('an unknown option', ['run', 'tickets', '--start-time', '0', '--bogus-flag'], /^Unknown option '--bogus-flag'\. See --help\.$/),
  bad('an unknown command', ['frobnicate'], /^Unknown command 'frobnicate'\. See --help\.$/),
];
