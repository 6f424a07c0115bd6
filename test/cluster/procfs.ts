/**
 * What /proc says about the processes a cluster test started: which are still alive, and how much CPU a
 * process and all its descendants used. PostgreSQL serves each connection from a child process that
 * makes itself a process group of its own, so neither the postmaster's own counters nor its process
 * group hold that work: its tree does.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux.

interface Stat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  /** utime + stime, and cutime + cstime (children already reaped), in seconds. */
  cpu: number;
  childrenCpu: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: count fields after its closing one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i] ?? 0);
  return { pid, state: fields[0] ?? '', ppid: n(1), pgrp: n(2), cpu: (n(11) + n(12)) / TICKS_PER_SECOND, childrenCpu: (n(13) + n(14)) / TICKS_PER_SECOND };
}

function allStats(): Stat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => stat(Number(name)))
    .filter((s): s is Stat => s !== undefined);
}

/** Alive and not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Living processes (zombies aside) in any of these process groups. */
export function livingInGroups(pgids: Iterable<number>): number[] {
  const wanted = new Set(pgids);
  return allStats()
    .filter((s) => wanted.has(s.pgrp) && s.state !== 'Z')
    .map((s) => s.pid);
}

/** The living processes descended from any of `roots`, the roots included. */
export function processTrees(roots: Iterable<number>): number[] {
  const stats = allStats();
  const found = new Set([...roots].filter((pid) => stats.some((s) => s.pid === pid && s.state !== 'Z')));
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stats) {
      if (!found.has(s.pid) && found.has(s.ppid) && s.state !== 'Z') {
        found.add(s.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** CPU seconds of a process and its descendants: the living ones, and those already reaped. */
export function treeCpuSeconds(root: number): number {
  const members = new Set(processTrees([root]));
  return allStats()
    .filter((s) => members.has(s.pid))
    .reduce((sum, s) => sum + s.cpu + s.childrenCpu, 0);
}
