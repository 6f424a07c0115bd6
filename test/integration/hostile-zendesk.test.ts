/**
 * Zendesk's answers are input too. A scripted server answers a real worker's requests with what a
 * broken or hostile Zendesk (or something that is not Zendesk at all) could send; each case must end
 * in its own clear failure, soon, with nothing written twice, never in an export retrying for ever.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { innermostCause } from '../../common/cause';
import type { Worker } from '@temporalio/worker';
import { useExportServer } from '../helpers/exports';
import { createExportWorker } from '../../worker/create-worker';
import { ExportClient } from '../../client/export-client';

type Answer = (url: URL, n: number) => { status?: number; headers?: Record<string, string>; body: string };

const TOKEN = 'hostile-zendesk-token-91b2';
const shared = useExportServer();
let server: http.Server;
let base: string;
let answer: Answer;
let requests = 0;
let root: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    const a = answer(new URL(req.url ?? '/', 'http://x'), requests);
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  requests = 0;
  root = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-hostile-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ticket = (id: number, second: number) => `{"id":${id},"generated_timestamp":${second},"subject":"t${id}"}`;

/** Runs one export of `acme` against the scripted server; returns how it ended and the files written. */
async function exportWith(
  request: { resource: 'tickets' | 'organizations'; mode?: 'time' | 'cursor' },
  workerEnv: Record<string, string> = {},
): Promise<{ error?: string; files: string[]; notes: string[] }> {
  const taskQueue = `hostile-zendesk-${Math.random().toString(36).slice(2)}`;
  const worker: Worker = await createExportWorker({
    connection: shared.env.nativeConnection,
    taskQueue,
    workflowBundle: shared.bundle,
    activities: {
      env: { ZENDESK_SUBDOMAIN: 'acme', ZENDESK_BASE_URL: base, ZENDESK_EMAIL: 'a@example.com', ZENDESK_API_TOKEN: TOKEN, ...workerEnv },
      destinations: { outputRoot: root, postgres: {} },
    },
  });
  const client = new ExportClient({ client: shared.env.client, taskQueue });
  const ended = await worker.runUntil(async () => {
    const handle = await client.start({ account: 'acme', ...request, startTime: 0, destination: root, rateLimit: { requests: 100, seconds: 1 } });
    return handle.result().then(
      (r) => ({ notes: r.state.notes }),
      async (err: unknown) => {
        return { error: innermostCause(err)?.message, notes: (await handle.describe()).state?.notes ?? [] };
      },
    );
  });
  await shared.env.client.workflow.getHandle('zendesk-account/acme').terminate().catch(() => undefined);
  const folder = path.join(root, 'acme', request.resource);
  const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.ndjson')) : [];
  expect(JSON.stringify(ended)).not.toContain(TOKEN);
  return { ...ended, files };
}

test('a cursor that does not move on, while the stream is not over, stops the export instead of writing the same page for ever', async () => {
  answer = () => ({ body: `{"tickets":[${ticket(1, 10)}],"after_cursor":"A","end_of_stream":false}` });
  const unchanged = await exportWith({ resource: 'tickets', mode: 'cursor' });
  expect(unchanged.error).toMatch(/did not move the cursor on \(after_cursor unchanged\)/);
  expect(unchanged.files).toHaveLength(1); // The first page, once.
  expect(requests).toBe(2);
});

test('a cursor page without a cursor, while the stream is not over, stops the export', async () => {
  answer = () => ({ body: `{"tickets":[${ticket(1, 10)}],"after_cursor":null,"end_of_stream":false}` });
  const missing = await exportWith({ resource: 'tickets', mode: 'cursor' });
  expect(missing.error).toMatch(/after_cursor missing/);
  expect(missing.files).toHaveLength(0);
});

test('an end_time from the future is refused, not used to skip ahead', async () => {
  const future = Math.floor(Date.now() / 1000) + 86_400 * 365;
  answer = () => ({ body: `{"tickets":[${ticket(1, 10)}],"end_time":${future},"end_of_stream":false}` });
  const ended = await exportWith({ resource: 'tickets', mode: 'time' });
  expect(ended.error).toMatch(/end_time \d+, \d+s in the future/);
  expect(requests).toBe(1);
});

test.each([
  ['a redirect', () => ({ status: 301, headers: { location: 'https://evil.example/' }, body: '' }), /a redirect \(HTTP 301\)/],
  ['an HTML page with status 200', () => ({ headers: { 'content-type': 'text/html' }, body: '<html><body>Sign in to the Wi-Fi</body></html>' }), /an HTML page/],
  ['204 No Content', () => ({ status: 204, body: '' }), /HTTP 204/],
  ['JSON that is not a page', () => ({ body: '{"hello":"world"}' }), /has no "organizations" array/],
])('%s fails after a few attempts, naming the likely cause', async (_name, a, sentence) => {
  answer = a as Answer;
  const ended = await exportWith({ resource: 'organizations' });
  expect(ended.error).toMatch(sentence);
  expect(ended.error).toMatch(/ZENDESK_BASE_URL/);
  expect(ended.error).toMatch(/\(5 attempts\)$/);
  expect(requests).toBe(5);
});

test('an answer larger than the cap is refused at once', async () => {
  const big = Array.from({ length: 3000 }, (_, i) => `{"id":${i + 1},"updated_at":"2024-01-01T00:00:00Z","notes":"${'x'.repeat(400)}"}`).join(',');
  answer = () => ({ body: `{"organizations":[${big}],"end_time":1704067201,"end_of_stream":true}` });
  const ended = await exportWith({ resource: 'organizations' }, { ZENDESK_MAX_RESPONSE_MB: '1' });
  expect(ended.error).toMatch(/larger than 1 MiB; ask for smaller pages/);
  expect(requests).toBe(1);
});

test('records are written as Zendesk sent them, however deep or odd', async () => {
  const deep = `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`;
  const odd = `{"id":2,"updated_at":"2024-01-01T00:00:00Z","v":1.0,"big":12345678901234567890,"s":"caf\\u00e9 \\/ ok","deep":${deep}}`;
  answer = () => ({ body: `{"organizations":[${odd}],"end_time":1704067201,"end_of_stream":true}` });
  const ended = await exportWith({ resource: 'organizations' });
  expect(ended.error).toBeUndefined();
  expect(readFileSync(path.join(root, 'acme', 'organizations', ended.files[0]!), 'utf8')).toBe(`${odd}\n`);
});

test('a corrupt token store is a configuration error that never quotes the file, and is not retried', async () => {
  const store = path.join(root, 'tokens.json');
  writeFileSync(store, '{"acme": "refresh-s3cret"', { mode: 0o600 });
  answer = () => ({ body: '{}' });
  const ended = await exportWith(
    { resource: 'organizations' },
    { ZENDESK_API_TOKEN: '', ZENDESK_OAUTH_CLIENT_ID: 'c', ZENDESK_OAUTH_REFRESH_TOKEN: 'r', ZENDESK_TOKEN_STORE: store },
  );
  expect(ended.error).toMatch(/token store .* is not a JSON object of refresh tokens/);
  expect(ended.error).not.toContain('refresh-s3cret');
  expect(requests).toBe(0);
});
