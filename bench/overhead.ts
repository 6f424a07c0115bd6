/**
 * Orchestration overhead: the same 200,000 tickets exported (a) by the Temporal workflow and
 * activities and (b) by a plain loop in one process making the same HTTP calls and writing the same
 * NDJSON. No rate limit, no added latency. Prints records/s of each and the ratio a/b.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ndjsonSink } from '../activities/destinations/ndjson';
import { DEFAULT_API_TOKEN } from '../simulator';
import { createAuthProvider } from '../zendesk/auth';
import { dropBoundaryRepeats, EMPTY_BOUNDARY } from '../zendesk/boundary';
import { endpointSpec } from '../zendesk/endpoints';
import { ZendeskClient } from '../zendesk/http-client';
import type { Position } from '../zendesk/page';
import { median, print, startBench } from './harness';

const TICKETS = Number(process.env.BENCH_TICKETS ?? 200_000);

/** The same work as the activity, in a plain loop. */
async function plainLoop(baseUrl: string, out: string): Promise<number> {
  const endpoint = endpointSpec('tickets_cursor');
  const client = new ZendeskClient({ account: 'plain', baseUrl, auth: createAuthProvider('plain', baseUrl, { kind: 'api_token', ...DEFAULT_API_TOKEN }) });
  const sink = ndjsonSink(out);
  let position: Position = { kind: 'cursor', startTime: 0, cursor: null };
  let records = 0;
  for (let page = 1; ; page++) {
    const result = await client.fetchPage(endpoint, 'tickets', position, { supportTypeScope: 'all' });
    const { fresh } = dropBoundaryRepeats(result.records, 'generated_timestamp', EMPTY_BOUNDARY);
    await sink.writePage({ account: 'plain', exportId: 'plain', resource: 'tickets', endpoint: endpoint.id, origin: 0, pageNumber: page, records: fresh, sideloads: result.sideloads, next: result.next });
    records += fresh.length;
    position = result.next;
    if (result.endOfStream) return records;
  }
}

export async function overhead(runs = 3): Promise<void> {
  const ratios: number[] = [];
  const temporalRates: number[] = [];
  const plainRates: number[] = [];
  const bench = await startBench({ sizes: { tickets: TICKETS, users: 10, organizations: 10, ticket_events: 10 }, rateLimits: 'off' });
  try {
    for (let run = 0; run < runs; run++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-overhead-'));
      try {
        let t = Date.now();
        const handle = await bench.client.start({
          account: `overhead${run}`,
          resource: 'tickets',
          startTime: 0,
          destination: path.join(dir, 'temporal'),
          rateLimit: { requests: 1_000_000, seconds: 1 },
        });
        const result = await handle.result();
        const a = result.state.records / ((Date.now() - t) / 1000);
        t = Date.now();
        const plainRecords = await plainLoop(bench.sim.url, path.join(dir, 'plain'));
        const b = plainRecords / ((Date.now() - t) / 1000);
        print(`  run ${run + 1}: temporal ${a.toFixed(0)} records/s, plain loop ${b.toFixed(0)} records/s, ratio ${(a / b).toFixed(3)}`);
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
