/**
 * `npm start`: the whole thing on one machine. A Temporal dev server with SQLite under `.temporal/`
 * (and its Web UI), the simulator with a seeded account (or your Zendesk account when ZENDESK_SUBDOMAIN
 * and credentials are set), a worker, and an export of all four resources at once into `./export/`,
 * with live progress; it exits once the export is complete. Ctrl-C stops it; running it again goes on
 * from what Temporal kept: finished exports stay finished, the others resume where they stopped.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { EXIT, watch } from '../cli/watch';
import { UserError } from '../client/errors';
import type { ExportClient, ExportHandle } from '../client/export-client';
import { parseAccount, type ExportRequest } from '../client/request';
import type { ExportState } from '../workflows/types';
import { credentialsFromEnv } from '../zendesk/credentials';
import type { Resource } from '../zendesk/endpoints';
import { completeMessage, introMessage, shown, STOPPED } from './messages';
import { DEFAULT_FOLLOW_SECONDS, demoPaths, HELP, parseDemoArgs } from './options';
import { matchFollowMode, planExports, type PlannedExport } from './plan';
import { forgetLocalState, startDemoStack } from './services';
import { DEMO_BUDGET, DEMO_PAGE_SIZE } from './simulator';

const ROOT = path.resolve(__dirname, '../..');
const print = (text: string) => process.stdout.write(text);

async function main(argv: readonly string[]): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options.help) {
    print(`${HELP}\n`);
    return EXIT.ok;
  }
  const paths = demoPaths(ROOT);
  const real = Boolean(process.env.ZENDESK_SUBDOMAIN && credentialsFromEnv(process.env));
  const account = real ? parseAccount(process.env.ZENDESK_SUBDOMAIN) : 'demo';
  const folder = path.join(paths.outputRoot, account);
  const followSeconds = options.follow ? (options.followSeconds ?? DEFAULT_FOLLOW_SECONDS[real ? 'zendesk' : 'simulator']) : undefined;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    shutdownSignals: [], // Ctrl-C is handled by the watch: detach, then stop the worker and the server.
  });

  if (options.fresh) forgetLocalState(paths, !process.env.TEMPORAL_ADDRESS);
  const stack = await startDemoStack(paths, { ...options, account, real, follow: followSeconds !== undefined });
  try {
    print(`Temporal at ${stack.address}${stack.uiUrl ? `; watch it in the Web UI: ${stack.uiUrl}` : ''}\n`);
    const { client } = stack;
    if (options.fresh) await startOver(client, account, folder);

    const plan = await planExports(client, account, followSeconds !== undefined);
    const ended = new Map<Resource, ExportState | undefined>(plan.map((p) => [p.resource, p.state]));
    if (plan.every((p) => p.step === 'done')) {
      print(completeMessage(folder, ended, !real));
      return EXIT.ok;
    }

    print(real ? `Exporting Zendesk account ${account}.\n` : `Zendesk simulator at ${stack.simulatorUrl}, account "${account}".\n`);
    await stack.startWorker();

    const request = (resource: Resource): ExportRequest => ({
      account,
      resource,
      startTime: 0,
      perPage: real ? undefined : DEMO_PAGE_SIZE,
      destination: paths.outputRoot,
      rateLimit: real ? undefined : DEMO_BUDGET,
      followIntervalSeconds: followSeconds,
    });
    const handles = await carryOut(client, plan, { request, folder, simulated: !real, followSeconds });
    const resumed = plan.filter((p) => p.step === 'attach' || p.step === 'resume').map((p) => p.resource);
    print(introMessage({ simulated: !real, follow: followSeconds, resumed, folder }));

    const started = Date.now();
    const cancelled: string[] = [];
    const code = await watch(client, handles, {
      detachHint: followSeconds === undefined ? STOPPED.once : STOPPED.follow,
      onEnd: (sample, ending) => {
        ended.set(sample.resource as Resource, sample.state);
        if (ending.outcome === 'cancelled') cancelled.push(sample.resource);
      },
    });
    if (code === EXIT.ok && cancelled.length) print(`\n${cancelled.join(', ')} ${cancelled.length === 1 ? 'was' : 'were'} cancelled from elsewhere; npm start again resumes ${cancelled.length === 1 ? 'it' : 'them'}.\n`);
    else if (code === EXIT.ok) print(completeMessage(folder, ended, !real, Date.now() - started));
    return code === EXIT.detached ? EXIT.ok : code;
  } finally {
    await stack.close();
  }
}

/** `--fresh`, once Temporal is up: the demo's running exports end, and its export folder goes. */
async function startOver(client: ExportClient, account: string, folder: string): Promise<void> {
  for (const p of await planExports(client, account, false)) {
    if (p.step === 'attach') await client.client.workflow.getHandle(p.workflowId).terminate('npm start -- --fresh');
  }
  rmSync(folder, { recursive: true, force: true });
  print(`Starting over: removed ${shown(folder)} and the demo's earlier exports.\n`);
}

/** Files already in a folder (an earlier demo's, when Temporal no longer knows the export that wrote them). */
function hasFiles(folder: string): boolean {
  try {
    return readdirSync(folder).length > 0;
  } catch {
    return false;
  }
}

/** Starts, resumes or picks up each export as planned; the handles of those that run, in the plan's order. */
async function carryOut(
  client: ExportClient,
  plan: readonly PlannedExport[],
  how: { request: (resource: Resource) => ExportRequest; folder: string; simulated: boolean; followSeconds?: number },
): Promise<ExportHandle[]> {
  const fromScratch = plan.filter((p) => p.step === 'start' || p.step === 'restart');
  for (const p of fromScratch) {
    const files = path.join(how.folder, p.resource);
    // Pages of an export Temporal no longer knows would sit beside the new ones: on the simulated account they go.
    if (how.simulated && hasFiles(files)) {
      rmSync(files, { recursive: true, force: true });
      print(`${p.resource}: Temporal has no record of the export that wrote ${shown(files)}; removed it, exporting from the beginning.\n`);
    }
  }
  const handles = await client.startMany(fromScratch.map((p) => how.request(p.resource)));
  for (const p of plan) {
    if (p.step === 'resume') handles.push(await client.resumeStopped(p.workflowId, { followIntervalSeconds: how.followSeconds }));
    if (p.step === 'attach') handles.push(await matchFollowMode(client, client.handle(p.workflowId), how.followSeconds));
  }
  const order = new Map(plan.map((p, i) => [p.workflowId, i]));
  return handles.sort((a, b) => order.get(a.workflowId)! - order.get(b.workflowId)!);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err instanceof UserError ? '' : 'The demo failed: '}${err.message}\n`);
    process.exit(err instanceof UserError ? EXIT.usage : EXIT.failed);
  },
);
