/**
 * The harness's own parts that every other test leans on: the process launcher (devserver/process.ts)
 * keeps output, stops a group with grace then SIGKILL, and leaves no process behind even when the
 * process that started it is killed; the stack's Teardown stops everything, last first, whatever fails.
 * The orphan case runs the built launcher (dist/, as `npm test` builds it) in a process of its own.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../../devserver/poll';
import { spawnGroup } from '../../devserver/process';
import { Teardown } from '../../devserver/stack';

const BUILT_LAUNCHER = path.resolve(__dirname, '../../dist/devserver/process.js');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const gone = (pid: number) => eventually(`process ${pid} to end`, async () => (alive(pid) ? undefined : true), 20_000, 50);

/** A node script that starts a child of its own (same process group), prints both PIDs, and ignores SIGTERM. */
const STUBBORN = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('pids', process.pid, child.pid);
setInterval(() => {}, 1000);`;

async function pidsOf(output: () => string, onOutput: (listener: () => void) => void): Promise<[number, number]> {
  const read = () => /pids (\d+) (\d+)/.exec(output());
  const match = read() ?? (await new Promise<RegExpExecArray>((resolve) => onOutput(() => read() && resolve(read()!))));
  return [Number(match[1]), Number(match[2])];
}

test('stdout and stderr are kept, and a process that exits by itself reports its code', async () => {
  const proc = spawnGroup(process.execPath, ['-e', "console.log('one'); console.error('two'); process.exit(3)"]);
  expect(await proc.exited).toEqual({ code: 3, signal: null });
  expect(proc.output().split('\n').sort()).toEqual(['', 'one', 'two']); // Two pipes: either may come first.
  expect(proc.running()).toBe(false);
});

test('a command that cannot run fails at once, in one sentence', () => {
  expect(() => spawnGroup('/nonexistent/temporal', [])).toThrow('cannot run /nonexistent/temporal: no such file');
});

test('stop: SIGTERM first, SIGKILL after the grace period, and the whole group goes', async () => {
  const proc = spawnGroup(process.execPath, ['-e', STUBBORN]);
  const [leader, child] = await pidsOf(proc.output, proc.onOutput);
  expect(leader).toBe(proc.pid);
  await proc.stop({ graceMs: 500 });
  expect(proc.output()).toContain('ignoring SIGTERM');
  expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
  await gone(child);
});

test('a group outlives no SIGKILLed parent: the watchdog kills it', async () => {
  // The parent starts the stubborn group with the launcher, prints its PIDs, and is then killed outright.
  const parentScript = `
const { spawnGroup } = require(${JSON.stringify(BUILT_LAUNCHER)});
const proc = spawnGroup(process.execPath, ['-e', ${JSON.stringify(STUBBORN)}]);
proc.onOutput((text) => process.stdout.write(text));`;
  const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const listeners: (() => void)[] = [];
  parent.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    listeners.forEach((l) => l());
  });
  const [leader, child] = await pidsOf(() => output, (l) => listeners.push(l));
  expect(alive(leader) && alive(child)).toBe(true);
  parent.kill('SIGKILL');
  await gone(leader);
  await gone(child);
});

test('Teardown stops last first, runs every stop when one fails, and reports the failure', async () => {
  const teardown = new Teardown();
  const stopped: string[] = [];
  teardown.add(async () => void stopped.push('server'));
  teardown.add(async () => {
    stopped.push('simulator');
    throw new Error('the simulator would not stop');
  });
  teardown.add(async () => void stopped.push('worker'));
  await expect(teardown.run()).rejects.toThrow('the simulator would not stop');
  expect(stopped).toEqual(['worker', 'simulator', 'server']);
  await teardown.run(); // A second close stops nothing twice.
  expect(stopped).toHaveLength(3);
});
