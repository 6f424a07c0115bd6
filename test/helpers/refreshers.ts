/**
 * The refresher processes of this checkout (accounts/refresher.ts) that are running, read from /proc:
 * tests find the one a worker started (its parent) to kill that worker mid-refresh, and check that
 * none is left behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { REFRESHER_PATH } from '../../accounts/refresher-process';

export interface Refresher {
  pid: number;
  /** The worker that started it, until that worker dies. */
  ppid: number;
}

export function runningRefreshers(): Refresher[] {
  const found: Refresher[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(REFRESHER_PATH)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') found.push({ pid: Number(name), ppid: Number(fields[1]) });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Waits until no refresher of this checkout runs (each ends on its own, within its deadline). */
export async function refreshersEnded(): Promise<void> {
  while (runningRefreshers().length > 0) await new Promise((r) => setTimeout(r, 50));
}
