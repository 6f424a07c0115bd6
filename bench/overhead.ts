/**
 * Orchestration overhead: the same 200,000 tickets exported (a) by the Temporal workflow and
 * activities and (b) by a plain loop in one process making the same HTTP calls and writing the same
 * NDJSON. No rate limit, no added latency. Prints records/s of each and the ratio a/b.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ndjsonDestination } from '../activities/destinations/ndjson';
import { DEFAULT_API_TOKEN } from '../simulator';
import { accountUrl } from '../zendesk/account';
import { createAuthProvider } from '../zendesk/auth';
import { endpointSpec } from '../zendesk/endpoints';
import { ZendeskClient } from '../zendesk/http-client';
import { advance, requestParams, startPosition } from '../zendesk/paging';
import { median, print, startBench, type Bench } from './harness';

const TICKETS = Number(process.env.BENCH_TICKETS ?? 200_000);

/** The same work as the activity, in a plain loop: the same client, paging and destination, no Temporal. */
async function plainLoop(simUrl: string, out: string): Promise<number> {
  const endpoint = endpointSpec('tickets_cursor');
  const url = accountUrl('plain', simUrl);
  const client = new ZendeskClient({ account: 'plain', url, auth: createAuthProvider('plain', url, { kind: 'api_token', ...DEFAULT_API_TOKEN }) });
  const destination = ndjsonDestination(out);
  let at = startPosition(endpoint.id, { kind: 'cursor', startTime: 0, cursor: null });
  const options = { supportTypeScope: 'all' as const };
  const origin = '20000101T000000.000Z-plain';
  let records = 0;
  for (let page = 1; ; page++) {
    const result = await client.fetchPage(endpoint, 'tickets', requestParams(at, options));
    const step = advance(at, 'tickets', result, Math.floor(Date.now() / 1000));
    if (step.kind !== 'moved') throw new Error(step.message);
    const checkpoint = { at: step.at, pages: page, records: records + step.fresh.length, repeats: 0, sideloaded: 0, sentAt: [], notes: [], exportId: 'plain', origin, firstPage: 1 };
    await destination.writePage({ account: 'plain', owner: { workflowId: 'plain', firstRunId: 'bench' }, exportId: 'plain', resource: 'tickets', endpoint: endpoint.id, origin, pageNumber: page, records: step.fresh, sideloads: result.sideloads, at: step.at, checkpoint, endOfStream: step.endOfStream });
    records += step.fresh.length;
    at = step.at;
    if (step.endOfStream) return records;
  }
}

const EVENT = { WFT_SCHEDULED: 5, WFT_STARTED: 6, WFT_COMPLETED: 7, ACTIVITY_SCHEDULED: 10, ACTIVITY_COMPLETED: 12 };

/** Where the time goes, from the export's history: batches, and mean milliseconds between event pairs. */
async function breakdown(bench: Bench, workflowId: string, pages: number): Promise<string> {
  const events = (await bench.client.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const at = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;
  const gaps: Record<string, number[]> = {};
  for (let i = 1; i < events.length; i++) {
    const [from, to] = [events[i - 1]!, events[i]!];
    if (from.eventType === EVENT.WFT_SCHEDULED && to.eventType === EVENT.WFT_STARTED) (gaps.dispatch ??= []).push(at(to) - at(from));
    if (from.eventType === EVENT.WFT_STARTED && to.eventType === EVENT.WFT_COMPLETED) (gaps.workflow ??= []).push(at(to) - at(from));
  }
  const scheduled = events.filter((e) => e.eventType === EVENT.ACTIVITY_SCHEDULED).map(at);
  const completed = events.filter((e) => e.eventType === EVENT.ACTIVITY_COMPLETED).map(at);
  const activity = completed.map((t, i) => t - scheduled[i]!);
  const sum = (v: number[] = []) => v.reduce((a, b) => a + b, 0);
  const mean = (v: number[] = []) => (sum(v) / Math.max(1, v.length)).toFixed(1);
  const orchestration = sum(gaps.dispatch) + sum(gaps.workflow);
  const upserts = events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length;
  return (
    `${completed.length} batches for ${pages} pages (${(pages / Math.max(1, completed.length)).toFixed(0)} a batch); per batch: activity ${mean(activity)} ms, ` +
    `workflow task dispatch ${mean(gaps.dispatch)} ms, workflow task ${mean(gaps.workflow)} ms; orchestration ${(orchestration / Math.max(1, pages)).toFixed(2)} ms a page; ` +
    `history events ${(events.length / Math.max(1, pages)).toFixed(2)} a page, search-attribute writes ${(upserts / Math.max(1, pages)).toFixed(3)} a page`
  );
}

export async function overhead(runs = 3): Promise<void> {
  const ratios: number[] = [];
  const temporalRates: number[] = [];
  const plainRates: number[] = [];
  const bench = await startBench({ sizes: { tickets: TICKETS, users: 10, organizations: 10, ticket_events: 10 }, rateLimits: 'off' }, { accounts: ['overhead1', 'overhead2', 'overhead3'] });
  try {
    for (let run = 0; run < runs; run++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-overhead-'));
      try {
        let t = Date.now();
        const handle = await bench.client.start({
          account: `overhead${run + 1}`,
          resource: 'tickets',
          startTime: 0,
          destination: path.join(bench.out, `run${run}`),
          rateLimit: { requests: 1000, seconds: 1 },
        });
        const result = await handle.result();
        const a = result.state.progress.records / ((Date.now() - t) / 1000);
        t = Date.now();
        const plainRecords = await plainLoop(bench.sim.url, path.join(dir, 'plain'));
        const b = plainRecords / ((Date.now() - t) / 1000);
        print(`  run ${run + 1}: temporal ${a.toFixed(0)} records/s, plain loop ${b.toFixed(0)} records/s (${(1000 / (b / 1000)).toFixed(1)} ms per page), ratio ${(a / b).toFixed(3)}`);
        print(`    ${await breakdown(bench, handle.workflowId, result.state.progress.pages)}`);
        temporalRates.push(a);
        plainRates.push(b);
        ratios.push(a / b);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await bench.close();
  }
  print(
    `overhead: ${TICKETS} tickets; median temporal ${median(temporalRates).toFixed(0)}/s, plain ${median(plainRates).toFixed(0)}/s, ratio a/b ${median(ratios).toFixed(3)}`,
  );
}
