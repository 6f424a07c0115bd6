/**
 * The Temporal Web UI, in a real browser (Debian's Chromium, driven by playwright-core): a running
 * export is found with a search-attribute filter, and its page says what it is doing now. The
 * screenshot goes to a temp folder; `UPDATE_SCREENSHOT=1 npx jest test/ui` makes it the README's
 * (docs/temporal-ui.png), which a plain test run never touches.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { startExportStack, type ExportStack } from '../helpers/exports';
import { WORKFLOWS_PATH } from '../../worker/create-worker';

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

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (".ci/run" does), or set CHROMIUM_PATH.`);
  server = await startDevServer({ ui: true });
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
  await env?.teardown();
  await server?.stop();
  rmSync(shot, { recursive: true, force: true });
});

test('a running export is found by its search attributes and shows its current state', async () => {
  // One request a minute: after its first page the export sits waiting for rate budget.
  stack = await startExportStack(env, bundle, { simulator: { sizes: { organizations: 200 }, rateLimits: 'off' } });
  await stack.run(async () => {
    const handle = await stack.client.start({
      account: stack.account,
      resource: 'organizations',
      startTime: 0,
      perPage: 20,
      destination: stack.out,
      rateLimit: { requests: 1, seconds: 60 },
    });
    for (let s = await handle.progress(); s.status !== 'waiting-rate-budget'; s = await handle.progress()) await new Promise((r) => setTimeout(r, 100));

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const query = `ZendeskAccount="${stack.account}" AND ZendeskExportStatus="waiting-rate-budget"`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByText(handle.workflowId, { exact: true }).first();
    await link.waitFor({ timeout: 60_000 });
    await link.click();
    // The timeline names the timer it waits on, and each page activity's summary.
    await page.getByText('waiting for rate budget (1 per 60s)').first().waitFor({ timeout: 60_000 });
    await page.getByText(/organizations: up to \d+ pages? from start_time 0 /).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    if (UPDATE) copyFileSync(SCREENSHOT, README_SCREENSHOT);
    await handle.cancel();
    await handle.result();
  });
});

test(UPDATE ? 'the README screenshot was replaced, as UPDATE_SCREENSHOT=1 asked' : 'the README screenshot is left as it is', () => {
  if (UPDATE) expect(fingerprint(README_SCREENSHOT)).toBe(fingerprint(SCREENSHOT));
  else expect(fingerprint(README_SCREENSHOT)).toBe(readmeBefore);
});
