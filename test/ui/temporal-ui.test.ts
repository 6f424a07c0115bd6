/**
 * The Temporal Web UI, in a real browser (Debian's Chromium, driven by playwright-core): a running
 * export is found with a search-attribute filter, and its page says what it is doing now. The
 * screenshot is the one in the README (docs/temporal-ui.png).
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';
import { startExportStack, type ExportStack } from '../helpers/exports';
import { WORKFLOWS_PATH } from '../../worker/create-worker';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.resolve(__dirname, '../../docs/temporal-ui.png');

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
    await page.getByText('organizations page 1 from start_time 0').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    await handle.cancel();
    await handle.result();
  });
});
