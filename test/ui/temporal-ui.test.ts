/**
 * The Temporal Web UI, in a real browser (Debian's Chromium, driven by playwright-core): a running
 * export is found with a search-attribute filter, and its page says what it is doing now; an export
 * whose payloads the codec encrypted reads in the UI through `zendesk-export codec-server`'s endpoints
 * (the dev server's `--ui-codec-endpoint`; the browser adds the codec server's bearer token). The
 * screenshot goes to a temp folder; `UPDATE_SCREENSHOT=1 npx jest test/ui` makes it the README's
 * (docs/temporal-ui.png), which a plain test run never touches.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../../devserver/ports';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { startExportStack, type ExportStack } from '../helpers/exports';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { AesGcmCodec, codecDataConverter, parseCodecKeys } from '../../codec';
import { startCodecServer, type CodecServer } from '../../codec/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const README_SCREENSHOT = path.resolve(__dirname, '../../docs/temporal-ui.png');
const UPDATE = process.env.UPDATE_SCREENSHOT === '1';
const shot = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-ui-'));
const SCREENSHOT = path.join(shot, 'temporal-ui.png');
const fingerprint = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing');
const readmeBefore = fingerprint(README_SCREENSHOT);

let server: DevServer;
let env: TestWorkflowEnvironment;
let bundle: { code: string };
let stack: ExportStack;
let browser: Browser;
let codecServer: CodecServer;
const CODEC_TOKEN = randomBytes(18).toString('base64url');
const codecKeys = parseCodecKeys(`ui-test=${randomBytes(32).toString('base64')}`, 'the test keys');

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (".ci/run" does), or set CHROMIUM_PATH.`);
  // The UI's origin is known only once the dev server is up, and the dev server needs the codec
  // server's address: a free UI port is chosen first.
  const uiPort = await freePort();
  codecServer = await startCodecServer({ codec: new AesGcmCodec(codecKeys), token: CODEC_TOKEN, uiOrigin: `http://127.0.0.1:${uiPort}`, port: 0 });
  server = await startDevServer({ ui: uiPort, uiCodecEndpoint: codecServer.url });
  [env, bundle] = await Promise.all([createDevServerEnv(server), bundleWorkflows(WORKFLOWS_PATH)]);
  // Flags for a closed network: no background fetches, no sandbox as root.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await codecServer?.close();
  await env?.teardown();
  await server?.stop();
  rmSync(shot, { recursive: true, force: true });
});

test('a running export is found by its search attributes and shows its current state', async () => {
  // One request every 9 s: after its first page the export sits waiting for rate budget on a workflow
  // timer (a window of 10 s or more would have the batch rest through its next rounds instead).
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 200 }, rateLimits: 'off' } });
  await stack.run(async () => {
    const handle = await stack.client.start({
      account: stack.account,
      resource: 'organizations',
      startTime: 0,
      perPage: 20,
      destination: stack.out,
      rateLimit: { requests: 1, seconds: 9 },
    });
    for (let s = await handle.progress(); s.status !== 'waiting-rate-budget'; s = await handle.progress()) await new Promise((r) => setTimeout(r, 100));

    const page = await newPage();
    const query = `ZendeskAccount="${stack.account}" AND ZendeskExportStatus="waiting-rate-budget"`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByText(handle.workflowId, { exact: true }).first();
    await link.waitFor({ timeout: 60_000 });
    await link.click();
    // The timeline names the timer it waits on, and each page activity's summary.
    await page.getByText('waiting for rate budget (1 per 9s)').first().waitFor({ timeout: 60_000 });
    await page.getByText(/organizations: up to \d+ pages? from start_time 0 /).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    if (UPDATE) copyFileSync(SCREENSHOT, README_SCREENSHOT);
    await handle.cancel();
    await handle.result();
  });
});

/** A page whose requests to the codec server carry its bearer token (as a proxy in front of it would add). */
async function newPage() {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.route(`${codecServer.url}/**`, (route) =>
    route.continue({ headers: { ...route.request().headers(), ...(route.request().method() === 'OPTIONS' ? {} : { authorization: `Bearer ${CODEC_TOKEN}` }) } }),
  );
  return page;
}

test("an export's encrypted payloads read in the UI through the codec server", async () => {
  await stack?.close();
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 5 }, rateLimits: 'off' }, dataConverter: codecDataConverter(codecKeys) });
  const workflowId = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out, rateLimit: { requests: 1000, seconds: 1 } });
    await handle.result();
    return handle.workflowId;
  });
  // Without the key, the history holds no word of the input.
  const raw = JSON.stringify(await env.client.workflow.getHandle(workflowId).fetchHistory());
  const plain = raw.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('latin1'));
  expect(plain).not.toContain('supportTypeScope');
  const page = await newPage();
  const decodes: number[] = [];
  page.on('response', (r) => r.url().startsWith(`${codecServer.url}/decode`) && decodes.push(r.status()));
  await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  // The input, decoded by the codec server, as the UI shows it.
  await page.getByText(/supportTypeScope/).first().waitFor({ timeout: 60_000 });
  expect(decodes.length).toBeGreaterThan(0);
  expect(decodes.every((status) => status === 200)).toBe(true);
});

test(UPDATE ? 'the README screenshot was replaced, as UPDATE_SCREENSHOT=1 asked' : 'the README screenshot is left as it is', () => {
  if (UPDATE) expect(fingerprint(README_SCREENSHOT)).toBe(fingerprint(SCREENSHOT));
  else expect(fingerprint(README_SCREENSHOT)).toBe(readmeBefore);
});
