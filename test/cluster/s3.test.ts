/**
 * S3 as the destination, on a real S3-compatible server (SeaweedFS, a Go build like the cluster's
 * Temporal server, hence in this suite): exports land as objects in the NDJSON layout, gzipped or not,
 * each record version exactly once; the server killed and restarted mid-export holds the export at its
 * page, then it goes on without a gap; a worker killed mid-page (the page's object stored, its checkpoint
 * not) loses and doubles nothing; two exports claiming one origin at once are told apart by the
 * conditional write (If-None-Match), one owning it; targets a worker does not have, or that are not names, are refused in
 * one sentence; the AWS keys stay in the worker. Workers are processes of the real CLI, configured only
 * by their environment, as deployed. Runs under jest.cluster.config.js; a plain `jest` run skips it.
 */
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ExportClient } from '../../client/export-client';
import { eventually } from '../../devserver/poll';
import { spawnGroup } from '../../devserver/process';
import { startSeaweedFs, type SeaweedFs } from '../../devserver/seaweedfs';
import { startWorkerProcess } from '../../devserver/worker-process';
import { DestinationConfigError, type PageWrite } from '../../activities/destinations';
import { parseS3Target, s3Destination } from '../../activities/destinations/s3';
import { startPosition } from '../../zendesk/paging';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import type { ExportState } from '../../workflows/types';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { runCli } from '../helpers/cli';
import { simulatorEnv, startExportStack, type ExportStack } from '../helpers/exports';
import { duplicates, newestById, versionKeys } from '../helpers/output';
import { bundleWorkflows, createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';

const suite = process.env.ZENDESK_EXPORT_CLUSTER_SUITE === '1' ? describe : describe.skip;
const FAST = { requests: 1000, seconds: 1 };
const CRASHING_WORKER = path.resolve(__dirname, '..', 'helpers', 'crashing-worker.js');
const BUCKET = 'zendesk-raw';

suite('S3 destination', () => {
  let server: DevServer;
  let env: TestWorkflowEnvironment;
  let bundle: { code: string };
  let s3: SeaweedFs;
  let stack: ExportStack | undefined;
  /** Processes a test started: killed after it, whatever happened. */
  const children = new Set<{ kill(): Promise<unknown> }>();

  beforeAll(async () => {
    [server, s3] = await Promise.all([startDevServer(), startSeaweedFs()]);
    [env, bundle] = await Promise.all([createDevServerEnv(server), bundleWorkflows(WORKFLOWS_PATH)]);
    await s3.createBucket(BUCKET);
  }, 5 * 60_000);
  afterAll(async () => {
    await env?.teardown();
    await server?.stop();
    await s3?.stop();
  });
  afterEach(async () => {
    await Promise.all([...children].map((c) => c.kill()));
    children.clear();
    await stack?.close();
    stack = undefined;
  });

  /** The worker's environment: the simulator's credentials, the S3 targets, and the AWS keys, nothing else of this process's. */
  function workerEnv(s: ExportStack, targets: Record<string, string>): Record<string, string> {
    return simulatorEnv(s.sim, { ZENDESK_ACCOUNTS: s.account, ZENDESK_EXPORT_OUTPUT_ROOT: s.out, ...targets, ...s3.credentials });
  }

  /** `s3://zendesk-raw/<prefix>` on the test server, with its options. */
  function target(prefix: string, options = ''): string {
    return `s3://${BUCKET}/${prefix}?endpoint=${s3.endpoint}&force-path-style=true${options}`;
  }

  function workerProcess(taskQueue: string, environment: Record<string, string>) {
    const worker = startWorkerProcess({ temporalAddress: server.address, taskQueue, env: environment, inheritEnv: false, logLevel: 'INFO' });
    children.add({ kill: () => worker.kill('SIGKILL') });
    return worker;
  }

  async function objectKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async function object(key: string): Promise<Buffer> {
    const answer = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await answer.Body!.transformToByteArray());
  }

  /** The pages of a resource under `prefix` (not its sideload folders), in name order. */
  async function pageKeys(prefix: string, account: string, resource: string): Promise<string[]> {
    const folder = `${prefix}/${account}/${resource}/`;
    return (await objectKeys(folder)).filter((key) => /^[^/]+\.ndjson(\.gz)?$/.test(key.slice(folder.length)));
  }

  /** Every record line of a resource's pages under `prefix`, in page order. */
  async function readRecords(prefix: string, account: string, resource: string): Promise<Record<string, unknown>[]> {
    const records: Record<string, unknown>[] = [];
    for (const key of await pageKeys(prefix, account, resource)) {
      const body = await object(key);
      const text = (key.endsWith('.gz') ? gunzipSync(body) : body).toString('utf8');
      for (const line of text.split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
    }
    return records;
  }

  /** The page numbers in object names (a page with nothing to write has no object, so numbers can skip). */
  async function pageNumbers(prefix: string, account: string, resource: string): Promise<number[]> {
    return (await pageKeys(prefix, account, resource)).map((key) => Number(/-(\d{8})\.ndjson(\.gz)?$/.exec(key)![1]));
  }

  async function checkpoint(prefix: string, account: string, resource: string): Promise<{ firstPage: number; pages: number } | undefined> {
    const key = (await objectKeys(`${prefix}/${account}/${resource}/.checkpoints/`)).find((k) => !k.endsWith('.owner.json'));
    return key ? (JSON.parse((await object(key)).toString('utf8')) as { firstPage: number; pages: number }) : undefined;
  }

  /** Each version of each record exactly once, and every record's newest version there. */
  async function expectExactlyOnce(prefix: string, resource: Resource, expected: Record<string, unknown>[]): Promise<void> {
    const { versionField } = RESOURCE_SPECS[resource];
    const written = await readRecords(prefix, stack!.account, resource);
    expect(written.length).toBeGreaterThan(0);
    expect(duplicates(versionKeys(written, versionField))).toEqual([]);
    const newest = newestById(written, versionField);
    expect([...newest.keys()].sort()).toEqual(expected.map((r) => String(r.id)).sort());
    for (const record of expected) expect(newest.get(String(record.id))).toEqual(record);
  }

  /** Polls the export's progress until `predicate` holds (a query may fail while a worker restarts). */
  function until(progress: () => Promise<ExportState>, predicate: (s: ExportState) => boolean): Promise<ExportState> {
    return eventually('the export state', async () => {
      const state = await progress();
      return predicate(state) ? state : undefined;
    }, 180_000, 50);
  }

  test('exports land as NDJSON objects, gzipped or not, each record version exactly once; the AWS keys stay in the worker', async () => {
    const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: { tickets: 150, users: 60 }, rateLimits: 'off' } }));
    const taskQueue = `s3-exact-${s.account}`;
    const worker = workerProcess(taskQueue, workerEnv(s, { ZENDESK_EXPORT_S3_LAKE: target('lake', '&gzip=true'), ZENDESK_EXPORT_S3: target('raw/plain') }));
    await worker.ready;
    const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
    const tickets = await client.start({ account: s.account, resource: 'tickets', startTime: 0, perPage: 20, include: ['users'], destination: 's3:lake', rateLimit: FAST });
    const users = await client.start({ account: s.account, resource: 'users', startTime: 0, perPage: 25, destination: 's3', rateLimit: FAST });
    const [ticketsDone, usersDone] = [await tickets.result(), await users.result()];
    expect([ticketsDone.outcome, usersDone.outcome]).toEqual(['completed', 'completed']);

    await expectExactlyOnce('lake', 'tickets', s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
    await expectExactlyOnce('raw/plain', 'users', s.sim.expected(undefined, 'users'));
    const ticketPages = await pageKeys('lake', s.account, 'tickets');
    expect(Math.max(...(await pageNumbers('lake', s.account, 'tickets')))).toBeLessThanOrEqual(ticketsDone.state.progress.pages);
    expect(ticketPages.every((key) => key.endsWith('.ndjson.gz'))).toBe(true);
    expect((await pageKeys('raw/plain', s.account, 'users')).every((key) => key.endsWith('.ndjson'))).toBe(true);
    // Sideloads beside the pages, under the same names.
    expect((await objectKeys(`lake/${s.account}/tickets/users/`)).length).toBeGreaterThan(0);
    // The checkpoint vouches for the last batch's pages, and the origin has its owner.
    const kept = await checkpoint('lake', s.account, 'tickets');
    expect(kept!.firstPage + kept!.pages - 1).toBe(ticketsDone.state.progress.pages);
    expect((await objectKeys(`lake/${s.account}/tickets/.checkpoints/`)).filter((k) => k.endsWith('.owner.json'))).toHaveLength(1);

    // The workflow histories name the target, never the bucket, the endpoint or the keys.
    // Payloads are base64 `data` in a history's JSON: searched as they are, and decoded.
    const events = await env.client.workflow.getHandle(tickets.workflowId).fetchHistory();
    const history = JSON.stringify(events);
    const decoded = JSON.stringify(events, (key, value: unknown) => (key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value)).replaceAll('\\"', '"');
    expect(decoded).toContain('"destination":{"kind":"s3","target":"lake"}');
    for (const text of [history, decoded, worker.output()]) {
      for (const secret of [s3.credentials.AWS_ACCESS_KEY_ID, s3.credentials.AWS_SECRET_ACCESS_KEY, BUCKET, s3.endpoint]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(Buffer.from(secret).toString('base64'));
      }
    }
  });

  test('the S3 server killed mid-export: the export holds at its page, then goes on without a gap once it is back', async () => {
    // 20 pages of 150 ms each: the server goes down mid-export.
    const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: { tickets: 200 }, rateLimits: 'off', faults: { latencyMs: 150 } } }));
    const taskQueue = `s3-restart-${s.account}`;
    workerProcess(taskQueue, workerEnv(s, { ZENDESK_EXPORT_S3_LAKE: target('restart') }));
    const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
    const handle = await client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: 's3:lake', rateLimit: FAST });
    await eventually('three pages stored', async () => ((await pageKeys('restart', s.account, 'tickets')).length >= 3 ? true : undefined), 120_000, 20);
    await s3.down();
    let held: ExportState;
    try {
      held = await until(() => handle.progress(), (state) => state.status === 'retrying');
    } finally {
      await s3.up();
    }
    // The one sentence names the target and the page's place, never the endpoint or the bucket.
    expect(held.retry).toMatchObject({ type: 'DestinationError', message: expect.stringMatching(/^Could not write \S+ to S3 target "lake": /) });
    expect(held.retry!.message).not.toMatch(new RegExp(`${BUCKET}|127\\.0\\.0\\.1`));
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
    expect(result.state.progress.pages).toBeGreaterThan(held.progress.pages);
    await expectExactlyOnce('restart', 'tickets', s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
  });

  test('a worker killed mid-page (its object stored, its checkpoint not): no duplicates, no gaps', async () => {
    const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: { tickets: 150 }, rateLimits: 'off' } }));
    const taskQueue = `s3-crash-${s.account}`;
    const environment = workerEnv(s, { ZENDESK_EXPORT_S3_LAKE: target('crash', '&gzip=true') });
    const crasher = spawnGroup(process.execPath, [CRASHING_WORKER], {
      env: { PATH: process.env.PATH ?? '', ...environment, TEMPORAL_ADDRESS: server.address, ZENDESK_EXPORT_TASK_QUEUE: taskQueue, CRASH_BEFORE_CHECKPOINT_PAGE: '3' },
    });
    children.add({ kill: () => crasher.stop({ signal: 'SIGKILL' }) });
    const client = new ExportClient({ client: env.client, taskQueue, startTimeoutMs: 60_000 });
    const handle = await client.start({ account: s.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: 's3:lake', rateLimit: FAST });
    expect((await crasher.exited).signal).toBe('SIGKILL');
    // Page 3 is stored, but the checkpoint still vouches for two pages: the retry fetches page 3 again.
    expect(await pageNumbers('crash', s.account, 'tickets')).toEqual([1, 2, 3]);
    const kept = await checkpoint('crash', s.account, 'tickets');
    expect(kept!.firstPage + kept!.pages - 1).toBe(2);
    expect((await handle.describe()).temporalStatus).toBe('RUNNING');
    workerProcess(taskQueue, environment);
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
    await expectExactlyOnce('crash', 'tickets', s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
    // No object beyond the pages the export counts, and the checkpoint vouches for the last.
    expect(Math.max(...(await pageNumbers('crash', s.account, 'tickets')))).toBeLessThanOrEqual(result.state.progress.pages);
    const last = await checkpoint('crash', s.account, 'tickets');
    expect(last!.firstPage + last!.pages - 1).toBe(result.state.progress.pages);
  });

  test('two exports claiming one origin at once: the conditional write lets one own it, the other is refused', async () => {
    // In this process, as a worker would: the keys from the SDK's chain (the environment), restored after.
    const saved = Object.keys(s3.credentials).map((name) => [name, process.env[name]] as const);
    Object.assign(process.env, s3.credentials);
    const destinations = [0, 1].map(() => s3Destination(parseS3Target('lake', target('claims'))));
    try {
      const origin = '20240101T000000.000Z-tickets_time';
      const at = startPosition('tickets_time', { kind: 'time', startTime: 0 });
      const page = (workflowId: string): PageWrite => ({
        account: 'acme',
        owner: { workflowId, firstRunId: `${workflowId}-run` },
        exportId: workflowId,
        resource: 'tickets',
        endpoint: 'tickets_time',
        origin,
        pageNumber: 1,
        records: [{ value: { id: 1 }, text: `{"id":1,"by":"${workflowId}"}` }],
        sideloads: {},
        at,
        checkpoint: { at, pages: 1, records: 1, repeats: 0, sideloaded: 0, sentAt: [], notes: [], exportId: workflowId, origin, firstPage: 1 },
        endOfStream: false,
      });
      const outcomes = await Promise.allSettled([destinations[0]!.writePage(page('export-a')), destinations[1]!.writePage(page('export-b'))]);
      const won = outcomes.findIndex((o) => o.status === 'fulfilled');
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((outcomes[1 - won] as PromiseRejectedResult).reason).toBeInstanceOf(DestinationConfigError);
      // The page is the winner's, and the owner object names it.
      const winner = won === 0 ? 'export-a' : 'export-b';
      const body = (await object(`claims/acme/tickets/${origin}-00000001.ndjson`)).toString('utf8');
      expect(body).toBe(`{"id":1,"by":"${winner}"}\n`);
      expect(JSON.parse((await object(`claims/acme/tickets/.checkpoints/${origin}.owner.json`)).toString('utf8'))).toMatchObject({ workflowId: winner });
    } finally {
      await Promise.all(destinations.map((d) => d.close()));
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('targets refused in one sentence: not a name (by the CLI), unknown to the worker (at the start), malformed (the worker will not start)', async () => {
    const s = (stack = await startExportStack(env, bundle, { simulator: { sizes: { tickets: 10 }, rateLimits: 'off' } }));
    const taskQueue = `s3-refused-${s.account}`;
    await workerProcess(taskQueue, workerEnv(s, { ZENDESK_EXPORT_S3_LAKE: target('refused') })).ready;
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      runCli(['run', 'tickets', '--account', s.account, '--start-time', '0', '--no-probe', ...args], { TEMPORAL_ADDRESS: server.address, ZENDESK_EXPORT_TASK_QUEUE: taskQueue, ...extra }, { cwd: s.out });
    const [notAName, bucketUrl, unknown] = [await cli(['--dest', 's3:Lake!']), await cli(['--dest', `s3://${BUCKET}/x`]), await cli(['--dest', 's3:elsewhere'])];
    expect([notAName.code, bucketUrl.code, unknown.code]).toEqual([2, 2, 2]);
    for (const r of [notAName, bucketUrl]) expect(r.stderr.trim()).toMatch(/^Name an S3 target the worker knows: [^\n]*; buckets stay in the worker\.$/);
    expect(unknown.stderr).toMatch(/The worker has no S3 target "elsewhere": set ZENDESK_EXPORT_S3_ELSEWHERE for it\./);

    // A target with keys in its URL: the worker refuses to start, saying so without them.
    const bad = workerProcess(`${taskQueue}-bad`, workerEnv(s, { ZENDESK_EXPORT_S3_LAKE: `s3://AKIDSECRETKEY:secret-of-the-key@${BUCKET}/x` }));
    expect((await bad.exited).code).toBe(2);
    expect(bad.output().trim()).toMatch(/^The S3 target "lake" has credentials in its URL; give them to the worker as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE\.$/);
    expect(bad.output()).not.toMatch(/AKIDSECRETKEY|secret-of-the-key/);
  });
});
