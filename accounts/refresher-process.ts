/**
 * The worker's side of a refresh: it starts a refresher process (refresher.ts) and waits for its one
 * line of outcome. The refresher is detached (a process group and session of its own), so a worker
 * killed meanwhile, even its whole group with SIGKILL, leaves it to commit the rotated tokens and exit.
 * Its secrets (the registry's password and keys, the stale token) go through its stdin, never its
 * arguments or environment, which `ps` and /proc show; it gets no ZENDESK_* or TEMPORAL_* variable.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RefreshOutcome } from './refresh';

/** The refresher's entry point, built in dist/ (from the sources, as tests run them, the built one). */
export const REFRESHER_PATH = existsSync(path.join(__dirname, 'refresher.js'))
  ? path.join(__dirname, 'refresher.js')
  : path.resolve(__dirname, '..', 'dist', 'accounts', 'refresher.js');

/** What the refresher needs to reach the registry: secrets, for its stdin only. */
export interface RefresherHandoff {
  url: string;
  password?: string;
  /** The registry's keys, as ZENDESK_REGISTRY_KEY holds them. */
  keys: string;
}

export interface RefresherRequest {
  account: string;
  /** The access token the worker found stale (or Zendesk refused), if any. */
  stale?: string;
}

/** Everything the refresher reads on stdin. */
export type RefresherInput = RefresherHandoff & RefresherRequest;

/** The worker's variables but its credentials and Temporal's: the refresher needs none of them. */
function refresherEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(ZENDESK_|TEMPORAL_)|^PGPASSWORD$/.test(name)));
}

const OUTCOMES = new Set(['stored', 'lost', 'missing', 'failed']);

function outcomeOf(text: string): RefreshOutcome | undefined {
  try {
    const parsed = JSON.parse(text.trim().split('\n').at(-1) ?? '') as RefreshOutcome;
    return OUTCOMES.has(parsed?.outcome) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a refresher for one account and waits for it (its own deadline bounds it: refresher.ts). */
export function runRefresher(handoff: RefresherHandoff, request: RefresherRequest): Promise<RefreshOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [REFRESHER_PATH], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env: refresherEnv(process.env) });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (out = (out + chunk).slice(-16_384)));
    child.stdin.on('error', () => undefined); // A refresher that died at once: its exit says so.
    child.stdin.end(JSON.stringify({ ...handoff, ...request } satisfies RefresherInput));
    const ended = (why: string) =>
      resolve({
        outcome: 'failed',
        kind: 'transient',
        message: `The token refresher of account "${request.account}" ended without an answer (${why}); the next attempt reads the registry again.`,
      });
    child.once('error', (err: NodeJS.ErrnoException) => ended(err.code ?? 'could not start'));
    child.once('close', (code, signal) => {
      const outcome = outcomeOf(out);
      if (outcome) resolve(outcome);
      else ended(signal ?? `exit code ${code}`);
    });
  });
}
