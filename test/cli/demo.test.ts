/**
 * `npm start` as a process, in a temp folder on free ports, start after start: Ctrl-C ends it quietly,
 * a new start goes on from what Temporal kept (finished exports are not redone), the restarted
 * simulator serves the same data, the copy equals the simulated account exactly, a start after a
 * complete run says so and offers follow mode and a fresh start, and both of those do what they say.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDemoData, demoSimulatorOptions } from '../../demo/simulator';
import { DEFAULT_API_TOKEN, startSimulator } from '../../simulator';
import { RESOURCES, RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { readRecords, versionKeys } from '../helpers/output';
import { killRunning, type RunningProcess } from '../helpers/cli';
import { startDemo } from './demo-process';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-demo-'));
});
afterAll(() => {
  killRunning();
  rmSync(dir, { recursive: true, force: true });
});

const folder = () => path.join(dir, 'export', 'demo');
const STACK_TRACE = /\n\s+at |Channel has been shut down|Error:/;
const COMPLETE = /[Tt]he demo export is complete: 3,000 ticket versions, 1,500 user versions, 300 organization versions and 5,000 ticket event versions, as NDJSON in \.\/export\/demo\/<resource>\//;

/** The first page of the sample endpoint, as the demo's running simulator serves it (its own rate bucket). */
async function servedSample(run: RunningProcess): Promise<string> {
  const [, url] = await run.waitFor(/Zendesk simulator at (http:\/\/\S+) /);
  const auth = Buffer.from(`${DEFAULT_API_TOKEN.email}/token:${DEFAULT_API_TOKEN.token}`).toString('base64');
  const response = await fetch(`${url}/api/v2/incremental/tickets/sample.json?start_time=0`, { headers: { Authorization: `Basic ${auth}` } });
  expect(response.status).toBe(200);
  return JSON.stringify((JSON.parse(await response.text()) as { tickets: unknown }).tickets); // Not its next_page, which names the port.
}

/** The id@version of every record of the copy, and what the simulated account holds (from the data the demo saved). */
async function copyAndAccount(): Promise<{ copy: Record<Resource, string[]>; account: Record<Resource, string[]> }> {
  const data = readDemoData(path.join(dir, '.temporal'));
  if (!data) throw new Error('the demo saved no simulator data');
  const sim = await startSimulator({ ...demoSimulatorOptions(data), rateLimits: 'off' });
  try {
    const copy = {} as Record<Resource, string[]>;
    const account = {} as Record<Resource, string[]>;
    for (const r of RESOURCES) {
      copy[r] = versionKeys(readRecords(folder(), r), RESOURCE_SPECS[r].versionField);
      account[r] = versionKeys(sim.expected(undefined, r, { supportTypeScope: 'all' }), RESOURCE_SPECS[r].versionField);
    }
    return { copy, account };
  } finally {
    await sim.close();
  }
}

/** Resources whose "completed" line the output shows, and how often. */
function completedLines(output: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of output.matchAll(/^(\w+)\s+completed\s/gm)) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
  return seen;
}

let finishedBeforeCtrlC: string[] = [];
let sampleBefore = '';

test('Ctrl-C stops the demo quietly: no stack trace, and the advice to run it again', async () => {
  const run = startDemo(dir);
  await run.waitFor(/The export takes under a minute; then this exits/);
  sampleBefore = await servedSample(run);
  await run.waitFor(/^\w+\s+completed\s/m); // Some exports done, the others under way.
  run.interrupt();
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('Stopped. Run `npm start` again to resume where it left off');
  expect(run.output()).not.toMatch(STACK_TRACE);
  finishedBeforeCtrlC = [...completedLines(run.output()).keys()];
  expect(finishedBeforeCtrlC.length).toBeGreaterThan(0);
}, 120_000);

test('npm start again: finished exports are not redone, the others go on, and the simulator serves the same data', async () => {
  const run = startDemo(dir);
  expect(await servedSample(run)).toBe(sampleBefore);
  const code = await run.exited;
  const output = run.output();
  expect({ code, output }).toMatchObject({ code: 0 });
  expect(output).toMatch(/Going on with .* from where (it|they) stopped/);
  for (const resource of finishedBeforeCtrlC) expect(output).not.toMatch(new RegExp(`^${resource}\\s`, 'm'));
  expect(output).toMatch(new RegExp(`Done in \\d+s: ${COMPLETE.source}`));
  for (const count of completedLines(output).values()) expect(count).toBe(1); // Each last line once.
  expect(output).not.toMatch(/\b1 pages\b/);
  expect(output).not.toMatch(STACK_TRACE);
  // The copy is the account exactly: every record version once, none from a shifted simulator.
  const { copy, account } = await copyAndAccount();
  expect(copy).toEqual(account);
}, 180_000);

test('a start after a complete run says so, where the files are, and what to do next', async () => {
  const run = startDemo(dir);
  expect(await run.exited).toBe(0);
  const output = run.output();
  expect(output).toMatch(COMPLETE);
  expect(output).toContain('npm start -- --follow');
  expect(output).toContain('npm start -- --fresh');
  expect(output).not.toContain('Zendesk simulator at'); // Nothing started again.
  expect(output).not.toMatch(/Done in/);
}, 120_000);

test('--follow keeps the copy current until Ctrl-C; npm start then brings it up to date once and exits', async () => {
  const follow = startDemo(dir, ['--follow', '1']);
  await follow.waitFor(/Follow mode: once caught up, each export polls for changes every 1s/);
  for (const r of RESOURCES) await follow.waitFor(new RegExp(`^${r}\\s+following\\s`, 'm'));
  follow.interrupt();
  expect(await follow.exited).toBe(0);
  expect(follow.output()).toContain('Stopped following.');
  expect(follow.output()).not.toMatch(STACK_TRACE);

  const once = startDemo(dir);
  expect({ code: await once.exited, output: once.output() }).toMatchObject({ code: 0 }); // The output shows why, if not.
  expect(once.output()).toMatch(COMPLETE);
  expect(once.output()).not.toMatch(STACK_TRACE);
}, 180_000);

test('--fresh starts over: the old files and exports go, new ones export the account again', async () => {
  const pages = () => readdirSync(path.join(folder(), 'tickets')).filter((name) => name.endsWith('.ndjson'));
  const before = new Set(pages());
  const run = startDemo(dir, ['--fresh']);
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('Starting over: removed ./export/demo');
  expect(run.output()).toMatch(COMPLETE);
  expect(pages().filter((name) => before.has(name))).toEqual([]);
  const { copy, account } = await copyAndAccount();
  expect(copy).toEqual(account);
}, 180_000);

test("saved exports from an earlier version's workflows are refused with one sentence, not carried on into replay failures", async () => {
  const old = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-demo-old-'));
  try {
    // A dev-server database an earlier version left, without the mark of the workflows that made it.
    mkdirSync(path.join(old, '.temporal'));
    writeFileSync(path.join(old, '.temporal', 'dev.sqlite'), '');
    const run = startDemo(old);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/made by an earlier version whose workflows this one cannot carry on: npm start -- --fresh starts over\./);
    expect(run.output()).not.toMatch(/\n\s+at /); // No stack trace.
  } finally {
    rmSync(old, { recursive: true, force: true });
  }
});
