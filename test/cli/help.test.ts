/**
 * What the CLI says of itself (`bin/zendesk-export.js` as a subprocess, built by `npm test`): help
 * texts that hold what a newcomer needs, headed tables, the simulator's banner, and the demo's words.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completeMessage } from '../../demo/messages';
import type { ExportState } from '../../workflows/types';
import type { Resource } from '../../zendesk/endpoints';
import { killRunning, runCli, startCli } from '../helpers/cli';

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-help-'));
});
afterAll(() => {
  killRunning();
  rmSync(cwd, { recursive: true, force: true });
});
const cli = (args: string[]) => runCli(args, {}, { cwd });
/** Help text with its line wrapping undone, so a phrase is found wherever the terminal width broke it. */
const help = async (args: string[]) => (await cli([...args, '--help'])).stdout.replace(/\s+/g, ' ');

test('run and start --help: --start-time is required and a minute old, the users cursor budget, and the global options', async () => {
  for (const command of ['run', 'start']) {
    const text = await help([command]);
    expect(text).toContain('--start-time <time> required unless --cursor: Unix seconds or ISO date to export from, at least a minute ago');
    expect(text).toContain('users cursor 20/60');
    expect(text).toMatch(/Global Options: --address <host:port> Temporal server/);
  }
});

test("worker --help names the credentials, the accounts they serve, and a fleet's account registry", async () => {
  const text = await help(['worker']);
  expect(text).toContain('ZENDESK_SUBDOMAIN=acme (or ZENDESK_ACCOUNTS=acme,other): the accounts they serve, required');
  expect(text).toContain('ZENDESK_EMAIL + ZENDESK_API_TOKEN');
  expect(text).toContain('ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_REFRESH_TOKEN');
  // A fleet's workers read their accounts from the registry instead.
  expect(text).toContain('ZENDESK_REGISTRY_URL=postgres://user@host/db (or the name of a Postgres target), with PGPASSWORD');
  expect(text).toContain('ZENDESK_REGISTRY_KEY_FILE=<file> (or ZENDESK_REGISTRY_KEY)');
  // What every worker of a deployment must agree on.
  for (const name of ['ZENDESK_EXPORT_SEAL_KEY_FILE', 'ZENDESK_RATE_CEILING', 'ZENDESK_EXPORT_CODEC_KEYS_FILE', 'ZENDESK_MAX_ANSWERS_MB']) expect(text).toContain(name);
});

test('endpoints prints a header over its columns', async () => {
  const lines = (await cli(['endpoints'])).stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^ENDPOINT\s+PAGING\s+PATH\s+RATE BUCKET$/);
  expect(lines).toHaveLength(8);
});

test('simulator --help reads as the installed command; its banner exports ZENDESK_SUBDOMAIN too', async () => {
  expect((await cli(['simulator', '--help'])).stdout).toMatch(/^Usage: zendesk-export simulator \[options\]/);
  const sim = startCli(['simulator', '--port', '0', '--accounts', 'acme'], {}, { cwd });
  const [line] = await sim.waitFor(/^ +export .*$/m);
  expect(line).toMatch(/^ +export ZENDESK_SUBDOMAIN=acme ZENDESK_BASE_URL=http:\/\/127\.0\.0\.1:\d+ ZENDESK_EMAIL=\S+ ZENDESK_API_TOKEN=\S+$/);
  sim.interrupt();
  expect(await sim.exited).toBe(0);
});

test('the demo counts record versions, not records: 3,004 ticket versions for 3,000 tickets changed 4 times', () => {
  const state = (records: number) => ({ progress: { records } }) as ExportState;
  const states = new Map<Resource, ExportState>([
    ['tickets', state(3004)],
    ['users', state(1500)],
  ]);
  expect(completeMessage('/tmp/x', states, true)).toContain('The demo export is complete: 3,004 ticket versions and 1,500 user versions, as NDJSON');
});
