/**
 * What a 1000-record page (BENCH_PAGE_RECORDS) costs the worker, against the floor, side by side in one process on one
 * answer: the simulator's realistic tickets, fetched once, then served as fixed bytes by a plain HTTP
 * server in this process. Floor: reading the answer's bytes over HTTP from that server into text
 * (node:http; serving is counted too, as it is in the worker's figure), finding its records'
 * boundaries, writing the bytes to a file; JSON.parse beside it. Worker: the real path of a page in the
 * activity (ZendeskClient.fetchPage over HTTP, paging's advance, the NDJSON destination's writePage).
 * CPU time of this process (process.cpuUsage) per page, median of BENCH_PAGE_ROUNDS rounds, every part
 * measured in turn with the others each round, so their ratios are judged under the same load.
 * BENCH_PAGE_BASELINE, the dist/ folder of another build (an earlier version), adds that build's worker
 * path to the turn.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ndjsonDestination } from '../activities/destinations/ndjson';
import { DEFAULT_API_TOKEN, startSimulator } from '../simulator';
import { accountUrl } from '../zendesk/account';
import { createAuthProvider } from '../zendesk/auth';
import { endpointSpec } from '../zendesk/endpoints';
import { ZendeskClient } from '../zendesk/http-client';
import { advance, requestParams, startPosition } from '../zendesk/paging';
import { topLevelArrayTexts } from '../zendesk/raw-json';
import { median, print } from './harness';

/** Records a page (BENCH_PAGE_RECORDS): 1000, the most Zendesk sends; 20 for the small pages of many accounts. */
const RECORDS = Number(process.env.BENCH_PAGE_RECORDS ?? 1000);
const ROUNDS = Number(process.env.BENCH_PAGE_ROUNDS ?? 200);
const ENDPOINT = endpointSpec('tickets_cursor');

/**
 * CPU milliseconds of this process per call of each of `fns`, median over ROUNDS (after a warm-up),
 * called in turn each round (the first one first every other round), so all see the same load.
 */
async function cpuMsInTurn(fns: Array<() => unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) for (const fn of fns) await fn();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? [...fns.keys()].reverse() : [...fns.keys()];
    for (const k of order) {
      const before = process.cpuUsage();
      await fns[k]!();
      const used = process.cpuUsage(before);
      samples[k]!.push((used.user + used.system) / 1000);
    }
  }
  return samples.map(median);
}

/** The modules of the worker's page path, of this build or of the one in BENCH_PAGE_BASELINE. */
interface PagePath {
  ndjsonDestination: typeof ndjsonDestination;
  accountUrl: typeof accountUrl;
  createAuthProvider: typeof createAuthProvider;
  ZendeskClient: typeof ZendeskClient;
  advance: typeof advance;
  requestParams: typeof requestParams;
  startPosition: typeof startPosition;
}

const THIS_BUILD: PagePath = { ndjsonDestination, accountUrl, createAuthProvider, ZendeskClient, advance, requestParams, startPosition };

function buildAt(dist: string): PagePath {
  // A build chosen when the benchmark runs: only require() can load it (CommonJS, path known then).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = (module: string) => require(path.resolve(dist, module)) as Partial<PagePath>;
  const modules = ['activities/destinations/ndjson', 'zendesk/account', 'zendesk/auth', 'zendesk/http-client', 'zendesk/paging'];
  return Object.assign({}, ...modules.map(load)) as PagePath;
}

/** One page of the activity's real path with `build`'s modules: fetched over HTTP, advanced, written to `out`. */
function workerPage(build: PagePath, serverUrl: string, out: string): () => Promise<void> {
  const url = build.accountUrl('bench', serverUrl);
  const client = new build.ZendeskClient({ account: 'bench', url, auth: build.createAuthProvider('bench', url, { kind: 'api_token', ...DEFAULT_API_TOKEN }) });
  const destination = build.ndjsonDestination(out);
  const at = build.startPosition(ENDPOINT.id, { kind: 'cursor', startTime: 0, cursor: null });
  const origin = '20000101T000000.000Z-bench';
  let pageNumber = 0;
  return async () => {
    const page = await client.fetchPage(ENDPOINT, 'tickets', build.requestParams(at, { perPage: RECORDS }));
    const step = build.advance(at, 'tickets', page, Math.floor(Date.now() / 1000));
    if (step.kind !== 'moved') throw new Error(step.message);
    pageNumber++;
    const checkpoint = { at: step.at, pages: pageNumber, records: 0, repeats: 0, sideloaded: 0, sentAt: [], notes: [], exportId: 'bench', origin, firstPage: 1 };
    await destination.writePage({ account: 'bench', owner: { workflowId: 'bench', firstRunId: 'bench' }, exportId: 'bench', resource: 'tickets', endpoint: ENDPOINT.id, origin, pageNumber, records: step.fresh, sideloads: page.sideloads, at: step.at, checkpoint, endOfStream: step.endOfStream });
  };
}

/**
 * One realistic full page of the cursor endpoint, as the simulator sends it. The simulator holds more
 * tickets than a page (some of them, deleted or an AI agent's, are not exported by default).
 */
async function oneAnswer(): Promise<Buffer> {
  const sim = await startSimulator({ sizes: { tickets: 2 * RECORDS, users: 1, organizations: 1, ticket_events: 1 }, recentWindowSeconds: 0 });
  try {
    const auth = Buffer.from(`${DEFAULT_API_TOKEN.email}/token:${DEFAULT_API_TOKEN.token}`).toString('base64');
    const response = await fetch(`${sim.url}${ENDPOINT.path}.json?start_time=0&per_page=${RECORDS}`, { headers: { Authorization: `Basic ${auth}` } });
    if (!response.ok) throw new Error(`The simulator answered ${response.status}.`);
    const body = Buffer.from(await response.arrayBuffer());
    const count = (JSON.parse(body.toString('utf8')) as { tickets: unknown[] }).tickets.length;
    if (count !== RECORDS) throw new Error(`The simulator's page holds ${count} tickets, not ${RECORDS}.`);
    return body;
  } finally {
    await sim.close();
  }
}

/** The answer's bytes, served as they are with the headers a Zendesk page carries. */
async function serveFixed(body: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The answer's bytes over HTTP into text, nothing else. */
function readOverHttp(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

export async function pageCost(): Promise<void> {
  const body = await oneAnswer();
  const text = body.toString('utf8');
  const out = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-page-cost-'));
  const server = await serveFixed(body);
  try {
    const agent = new http.Agent({ keepAlive: true });
    const file = path.join(out, 'bytes.ndjson');
    const baseline = process.env.BENCH_PAGE_BASELINE;
    const pages = [workerPage(THIS_BUILD, server.url, path.join(out, 'this'))];
    if (baseline) pages.push(workerPage(buildAt(baseline), server.url, path.join(out, 'baseline')));
    const [read, boundaries, parse, write, worker, before] = (await cpuMsInTurn([
      () => readOverHttp(server.url, agent),
      () => topLevelArrayTexts(text, new Set(['tickets'])),
      () => JSON.parse(text),
      () => writeFileSync(file, text),
      ...pages,
    ])) as [number, number, number, number, number, number | undefined];
    agent.destroy();
    const floor = read + boundaries + write;
    print(`  answer: ${RECORDS} tickets, ${(body.length / 1048576).toFixed(2)} MiB; CPU ms a page, median of ${ROUNDS}`);
    print(`  floor: read over HTTP ${read.toFixed(2)}, record boundaries ${boundaries.toFixed(2)}, write ${write.toFixed(2)} = ${floor.toFixed(2)} ms; JSON.parse ${parse.toFixed(2)} ms`);
    print(`  worker: a page fetched over HTTP, advanced, written as NDJSON with its checkpoint: ${worker.toFixed(2)} ms`);
    if (before !== undefined) print(`  baseline (${baseline}), its pages in turn with these: ${before.toFixed(2)} ms`);
    print(`page-cost: worker ${worker.toFixed(1)} ms a ${RECORDS}-record page, ${(worker / floor).toFixed(2)}x the floor (${floor.toFixed(1)} ms); JSON.parse alone ${parse.toFixed(1)} ms`);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
}
