/**
 * What a Temporal client or a slow answer can do to a real worker's files, requests and failures:
 * an export carrying another export's origin (another workflow ID, or the same one after it ended)
 * must neither replace nor delete that export's pages; a symbolic link under the output root must
 * not lead writes outside it; an answer dripped byte by byte is abandoned at its deadline, and one in
 * flight when its export is paused is abandoned with its batch; and no failure a client can read names
 * the API token's owner, the output root, a Postgres host, a credentials file, or more of a token
 * endpoint's answer than OAuth's two fields.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { createExportWorker } from '../../worker/create-worker';
import { MEMO } from '../../workflows/ids';
import type { ExportInput, ExportState } from '../../workflows/types';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { startViaCoordinator } from '../helpers/via-coordinator';
import { freePort } from '../../devserver/ports';

const shared = useExportServer();
let stack: ExportStack | undefined;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  for (const fn of cleanup.splice(0)) await fn();
});

/** Every file under `dir` (dot folders too) with a hash of its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

/** A history as text with every payload decoded, as any client of the namespace can read it. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const text = JSON.stringify(await handle.fetchHistory());
  // Quotes unescaped, so a message reads the same in a failure as in a payload.
  return text.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8')).replaceAll('\\"', '"');
}

/** Resolves once `probe` holds, looking every 200 ms: the test waits for the event, never a fixed time. */
async function until(probe: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await probe())) await new Promise((r) => setTimeout(r, 200));
}

/** Asks for an export as a plain Temporal client could, through its account's coordinator; resolves to how it ended. */
async function startAsAnyClient(taskQueue: string, input: ExportInput): Promise<{ handle: WorkflowHandle; ended: Promise<unknown> }> {
  const started = await startViaCoordinator(shared.env.client, taskQueue, input);
  cleanup.push(() => started.coordinator.terminate('test finished').then(() => undefined, () => undefined));
  return started;
}

describe("another export's origin", () => {
  test('neither another workflow ID nor a later run of the same one replaces or deletes the pages an export wrote', async () => {
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 60 }, rateLimits: 'off' } });
    const s = stack;
    const folder = path.join(s.out, s.account, 'tickets');
    await s.run(async () => {
      const first = await s.client.start({ account: s.account, resource: 'tickets', startTime: 0, destination: s.out, mode: 'time', perPage: 10, rateLimit: { requests: 1000, seconds: 1 } });
      expect((await first.result()).outcome).toBe('completed');
      const before = snapshot(folder);
      expect(Object.keys(before).filter((f) => f.endsWith('.ndjson')).length).toBeGreaterThan(3);
      const memo = (await shared.env.client.workflow.getHandle(first.workflowId).describe()).memo as Record<string, unknown>;
      const input = memo[MEMO.input] as ExportInput;
      const state = memo[MEMO.state] as ExportState;
      // From page 1 again, at the end of the stream: every page it writes is empty, which would delete the file of that number.
      const replayed: ExportState = { ...state, progress: { ...state.progress, pages: 0 }, paused: false };

      // Another export (tickets by cursor) carrying the first one's origin.
      const cursorAt = { endpoint: 'tickets_cursor' as const, next: { kind: 'cursor' as const, startTime: 0, cursor: null }, boundary: { second: -1, keys: [] } };
      const other = await startAsAnyClient(s.taskQueue, { ...input, endpoint: 'tickets_cursor', start: cursorAt.next, state: { ...replayed, at: cursorAt } });
      const err = await other.ended;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(await historyText(other.handle)).toMatch(/belong to another export/);
      expect(snapshot(folder)).toEqual(before);

      // The same workflow ID, free again once the first run ended: it may carry on, only after the pages written.
      const later = await startAsAnyClient(s.taskQueue, { ...input, state: replayed });
      await later.ended;
      const after = snapshot(folder);
      for (const [file, hash] of Object.entries(before)) if (!file.startsWith('.checkpoints')) expect([file, after[file]]).toEqual([file, hash]);
    });
  });
});

test('a symbolic link under the output root does not lead writes outside it (a real worker)', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 5 }, rateLimits: 'off' } });
  const s = stack;
  const outside = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-outside-'));
  cleanup.push(() => rmSync(outside, { recursive: true, force: true }));
  symlinkSync(outside, path.join(s.out, 'link'));
  await s.run(async () => {
    const run = await startAsAnyClient(s.taskQueue, {
      account: s.account,
      resource: 'tickets',
      endpoint: 'tickets_time',
      start: { kind: 'time', startTime: 0 },
      options: { supportTypeScope: 'all' },
      destination: { kind: 'ndjson', dir: 'link' },
      budget: { requests: 1000, seconds: 1 },
    });
    expect(await run.ended).toBeInstanceOf(WorkflowFailedError);
    const text = await historyText(run.handle);
    expect(text).toMatch(/"link" leads outside the worker's output root/);
    expect(text).not.toContain(s.out); // The root is the worker's set-up.
  });
  expect(readdirSync(outside)).toEqual([]);
});

/** A Zendesk stand-in whose first tickets answer drips a byte every 50 ms for ever; later ones end the stream. */
async function drippingZendesk(): Promise<{ url: string; first: { started: Promise<void>; closed: Promise<void> }; close(): Promise<void> }> {
  let started!: () => void;
  let closed!: () => void;
  const first = { started: new Promise<void>((r) => (started = r)), closed: new Promise<void>((r) => (closed = r)) };
  let requests = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (requests++ > 0) return res.end(`{"tickets":[],"end_of_stream":true,"end_time":${Math.floor(Date.now() / 1000) - 120}}`);
    res.write('{"tickets":[', () => started());
    const drip = setInterval(() => res.write(' '), 50);
    res.on('close', () => {
      clearInterval(drip);
      closed();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    first,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('an answer dripped slowly', () => {
  const input = (account: string, out: string): ExportInput => ({
    account,
    resource: 'tickets',
    endpoint: 'tickets_time',
    start: { kind: 'time', startTime: 0 },
    options: { supportTypeScope: 'all' },
    destination: { kind: 'ndjson', dir: out },
    budget: { requests: 1000, seconds: 1 },
  });

  async function withDrippingWorker(env: Record<string, string>, fn: (taskQueue: string, zendesk: Awaited<ReturnType<typeof drippingZendesk>>, out: string) => Promise<void>) {
    const zendesk = await drippingZendesk();
    const out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-drip-'));
    cleanup.push(() => zendesk.close(), () => rmSync(out, { recursive: true, force: true }));
    const taskQueue = `drip-${Math.random().toString(36).slice(2)}`;
    const worker = await createExportWorker({
      connection: shared.env.nativeConnection,
      taskQueue,
      workflowBundle: shared.bundle,
      activities: { env: { ZENDESK_SUBDOMAIN: 'acme', ZENDESK_BASE_URL: zendesk.url, ZENDESK_EMAIL: 'a@example.com', ZENDESK_API_TOKEN: 'drip-token', ...env }, destinations: { outputRoot: out, postgres: {} } },
    });
    await worker.runUntil(fn(taskQueue, zendesk, out));
  }

  test('is abandoned at the deadline for the whole answer, and the export goes on', async () => {
    await withDrippingWorker({ ZENDESK_REQUEST_TIMEOUT_SECONDS: '2' }, async (taskQueue, zendesk, out) => {
      const run = await startAsAnyClient(taskQueue, input('acme', out));
      await zendesk.first.closed;
      expect(await run.ended).toMatchObject({ outcome: 'completed' });
      expect(await historyText(run.handle)).toMatch(/did not finish its answer for account "acme" .* within 2s/);
    });
  });

  test('in flight when the export is paused, is abandoned with its batch', async () => {
    await withDrippingWorker({}, async (taskQueue, zendesk, out) => {
      const run = await startAsAnyClient(taskQueue, input('acme', out));
      await zendesk.first.started;
      await run.handle.signal('pause');
      await zendesk.first.closed; // Long before the 120 s deadline: the pause cancelled the batch, and the batch its request.
      await run.handle.terminate('test finished');
    });
  });
});

describe("failures say nothing of the worker's set-up", () => {
  const EMAIL = 'token-owner-5e1f@corp.example';

  async function failedExport(
    env: Record<string, string>,
    options: { destination?: ExportInput['destination']; postgres?: Record<string, string>; until?: RegExp; prepare?: (root: string) => void } = {},
  ): Promise<{ text: string; root: string }> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-setup-'));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    options.prepare?.(root);
    const taskQueue = `setup-${Math.random().toString(36).slice(2)}`;
    const worker = await createExportWorker({
      connection: shared.env.nativeConnection,
      taskQueue,
      workflowBundle: shared.bundle,
      activities: { env: { ZENDESK_SUBDOMAIN: 'acme', ...env }, destinations: { outputRoot: root, postgres: options.postgres ?? {} } },
    });
    return worker.runUntil(async () => {
      const destination = options.destination ?? { kind: 'ndjson', dir: root };
      const run = await startAsAnyClient(taskQueue, {
        account: 'acme',
        resource: 'tickets',
        endpoint: 'tickets_time',
        start: { kind: 'time', startTime: 0 },
        options: { supportTypeScope: 'all' },
        destination,
        budget: { requests: 1000, seconds: 1 },
      });
      // A failure that ends the export, or one the export retries (which history keeps in the batch's result).
      await until(async () => (await run.handle.describe()).status.name !== 'RUNNING' || (options.until ?? /$^/).test(await historyText(run.handle)));
      const text = await historyText(run.handle);
      await run.handle.terminate('test finished').catch(() => undefined);
      return { text, root };
    });
  }

  const simulatorCredentials = () => ({ ZENDESK_BASE_URL: stack!.sim.url, ZENDESK_EMAIL: stack!.workerEnv.ZENDESK_EMAIL!, ZENDESK_API_TOKEN: stack!.workerEnv.ZENDESK_API_TOKEN! });

  test("no API token owner's email when Zendesk refuses the token", async () => {
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 5 } } });
    const { text } = await failedExport({ ZENDESK_BASE_URL: stack.sim.url, ZENDESK_EMAIL: EMAIL, ZENDESK_API_TOKEN: 'wrong-token' });
    expect(text).toMatch(/Zendesk rejected the credentials .*\(API token\)/);
    expect(text).not.toContain(EMAIL);
  });

  test('no output root when a page cannot be written', async () => {
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 5 }, rateLimits: 'off' } });
    const { text, root } = await failedExport(
      simulatorCredentials(),
      { destination: { kind: 'ndjson', dir: 'blocked' }, until: /Could not write/, prepare: (root) => writeFileSync(path.join(root, 'blocked'), 'a file where the folder should be') },
    );
    expect(text).toMatch(/Could not write blocked\/acme\/tickets\/.* in the worker's output root: ENOTDIR/);
    expect(text).not.toContain(root);
  });

  test('no Postgres host when the database cannot be reached', async () => {
    stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 5 }, rateLimits: 'off' } });
    const port = await freePort(); // Nothing listens there.
    const { text } = await failedExport(
      simulatorCredentials(),
      { destination: { kind: 'postgres', target: 'default' }, postgres: { default: `postgres://exporter@127.0.0.1:${port}/warehouse` }, until: /Postgres target/ },
    );
    expect(text).toMatch(/Postgres target "default"/);
    expect(text).not.toContain(String(port));
    expect(text).not.toContain('warehouse');
  });

  test('no credentials file path when the file is broken', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-creds-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'secret-location-credentials.json');
    writeFileSync(file, '{"acme": 42}');
    const { text } = await failedExport({ ZENDESK_CREDENTIALS_FILE: file });
    expect(text).toMatch(/ZENDESK_CREDENTIALS_FILE .*is not a JSON object of accounts/);
    expect(text).not.toContain('secret-location');
  });

  test("a token endpoint's refusal is quoted by its error and error_description only", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed', debug: { upstream: 'idp-internal-9.corp:8443' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { text } = await failedExport({ ZENDESK_BASE_URL: url, ZENDESK_OAUTH_CLIENT_ID: 'id', ZENDESK_OAUTH_CLIENT_SECRET: 'secret', ZENDESK_OAUTH_REFRESH_TOKEN: 'refresh' });
    expect(text).toMatch(/refused to issue an OAuth token for account "acme" \(OAuth refresh token\): invalid_client - Client authentication failed/);
    expect(text).not.toContain('idp-internal');
  });
});
