/**
 * The trust boundary: any Temporal client can start workflows on the worker's task queue and signal
 * them, not only this project's client. A plain Temporal client sends hostile inputs to a real worker
 * on a real dev server; an attacker's listeners (TCP, where a request to `https://<account>…` or a
 * Postgres connection would land) count every connection. Each export must fail at once with one
 * sentence naming the field, nothing may reach the attacker, and nothing may be written outside the
 * worker's output root.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { innermostCause } from '../../common/cause';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { useExportServer } from '../helpers/exports';
import { startViaCoordinator } from '../helpers/via-coordinator';
import { DEFAULT_OAUTH, startSimulator, type Simulator } from '../../simulator';
import { createExportWorker } from '../../worker/create-worker';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import { exportFinishedSignal, startExportSignal } from '../../workflows/messages';
import type { ExportInput } from '../../workflows/types';
import type { accountCoordinator, exportResource } from '../../workflows';

const API_TOKEN = 'hostile-suite-api-token-7f3a';
const shared = useExportServer();
let sim: Simulator;
let root: string;
let outside: string;
const attacker = { connections: 0, bytes: 0, servers: [] as net.Server[] };
let attackerPort: number;
let fakePostgresPort: number;
/** Hostile inputs tried, for the report. */
let tried = 0;

async function listen(): Promise<number> {
  const server = net.createServer((socket) => {
    attacker.connections++;
    socket.on('data', (d) => (attacker.bytes += d.length));
    socket.on('error', () => undefined);
    socket.end();
  });
  attacker.servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  sim = await startSimulator({ sizes: { tickets: 20, users: 10, organizations: 10, ticket_events: 10 }, rateLimits: 'off', recentWindowSeconds: 0 });
  root = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-root-'));
  outside = `${root}-outside`;
  attackerPort = await listen();
  fakePostgresPort = await listen();
});
afterAll(async () => {
  await sim?.close();
  for (const s of attacker.servers) await new Promise((r) => s.close(r));
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  process.stdout.write(`hostile inputs tried: ${tried}; connections to the attacker: ${attacker.connections}, bytes: ${attacker.bytes}\n`);
});

/** A worker holding credentials for `acme` only, with no base URL override: requests go to https://<account>.zendesk.com. */
async function withWorker<T>(kind: 'api-token' | 'oauth', fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `hostile-${kind}-${Math.random().toString(36).slice(2)}`;
  const credentials =
    kind === 'api-token'
      ? { ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: API_TOKEN }
      : { ZENDESK_OAUTH_CLIENT_ID: DEFAULT_OAUTH.clientId, ZENDESK_OAUTH_CLIENT_SECRET: DEFAULT_OAUTH.clientSecret, ZENDESK_OAUTH_REFRESH_TOKEN: DEFAULT_OAUTH.refreshToken };
  const worker: Worker = await createExportWorker({
    connection: shared.env.nativeConnection,
    taskQueue,
    workflowBundle: shared.bundle,
    activities: {
      env: { ZENDESK_SUBDOMAIN: 'acme', ...credentials },
      destinations: { outputRoot: root, postgres: {} },
    },
  });
  return worker.runUntil(fn(taskQueue));
}

function validInput(overrides: Partial<ExportInput> = {}): ExportInput {
  return {
    account: 'acme',
    resource: 'tickets',
    endpoint: 'tickets_time',
    start: { kind: 'time', startTime: 0 },
    options: { supportTypeScope: 'all' },
    destination: { kind: 'ndjson', dir: root },
    budget: { requests: 10, seconds: 60 },
    ...overrides,
  };
}

/** Starts `exportResource` as any Temporal client could, and returns the sentence it failed with. */
async function failureOf(taskQueue: string, input: unknown, workflowId?: string): Promise<string> {
  tried++;
  const i = input as ExportInput;
  const id = workflowId ?? `zendesk-export/${String(i?.account)}/${String(i?.resource)}/${String(i?.endpoint)}`;
  const handle = await shared.env.client.workflow.start<typeof exportResource>('exportResource', { workflowId: id, taskQueue, args: [input as ExportInput] });
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = innermostCause(err);
  // One attempt: a bad input is not retried.
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(Math.max(0, ...attempts)).toBeLessThanOrEqual(1);
  expect(JSON.stringify(history)).not.toContain(API_TOKEN);
  return cause?.message ?? String(err);
}

/**
 * Starts an export as the project's client does, through its account's coordinator (an export runs only
 * under it), and returns the sentence it failed with; the coordinator is then ended.
 */
async function failureViaCoordinator(taskQueue: string, input: ExportInput): Promise<string> {
  tried++;
  const { handle, coordinator } = await startViaCoordinator(shared.env.client, taskQueue, input);
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  await coordinator.terminate('test finished');
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause = (err as { cause?: unknown }).cause as { cause?: unknown; message: string } | undefined;
  while (cause?.cause) cause = cause.cause as typeof cause;
  expect(JSON.stringify(await handle.fetchHistory())).not.toContain(API_TOKEN);
  return cause!.message;
}

/** 4,000 arrays deep: a client can send it, but turning it into a string (a template, an ID) overflows the stack. */
function deepArray(): unknown[] {
  let deep: unknown[] = [];
  for (let i = 0; i < 4_000; i++) deep = [deep];
  return deep;
}

const hostileAccounts = () => [
  `127.0.0.1:${attackerPort}#`,
  `127.0.0.1:${attackerPort}/`,
  `x@127.0.0.1:${attackerPort}`,
  `evil.com#`,
  '..',
  '../../x',
  'ACME',
  'a'.repeat(64),
  'acme\u0000',
];

describe.each(['api-token', 'oauth'] as const)('a worker with %s credentials', (kind) => {
  test('refuses account names that could send its credentials elsewhere or write outside its root', async () => {
    await withWorker(kind, async (taskQueue) => {
      for (const account of hostileAccounts()) {
        const message = await failureOf(taskQueue, validInput({ account }));
        expect(message).toMatch(/^Invalid export input: account ".*" is not a Zendesk subdomain/);
      }
    });
    expect(attacker.connections).toBe(0);
  });

  test("serves only its own account: another account's export fails at once, naming it", async () => {
    await withWorker(kind, async (taskQueue) => {
      const message = await failureViaCoordinator(taskQueue, validInput({ account: 'other', destination: { kind: 'ndjson', dir: root } }));
      expect(message).toMatch(/credentials are not for account "other"/);
    });
    expect(sim.stats().requests).toBe(0);
  });
});

test('destinations stay inside what the worker allows: no path outside the root, no client-chosen Postgres host', async () => {
  await withWorker('api-token', async (taskQueue) => {
    for (const dir of [outside, path.join(root, '..', path.basename(outside)), '../escape', '/etc']) {
      expect(await failureViaCoordinator(taskQueue, validInput({ destination: { kind: 'ndjson', dir } }))).toMatch(/outside the worker's output root/);
    }
    expect(await failureViaCoordinator(taskQueue, validInput({ destination: { kind: 'postgres', target: 'evil' } }))).toMatch(/no Postgres target "evil"/);
    // The old shape, a URL that would receive PGPASSWORD: not a destination at all.
    const url = `postgres://u@127.0.0.1:${fakePostgresPort}/db`;
    expect(await failureOf(taskQueue, validInput({ destination: { kind: 'postgres', url } as never }))).toMatch(/destination\.target is missing/);
  });
  expect(attacker.connections).toBe(0);
  expect(existsSync(outside)).toBe(false);
  expect(readdirSync(root)).toEqual([]);
});

test('unknown resources, endpoints and malformed fields fail at once with a sentence naming the field', async () => {
  await withWorker('api-token', async (taskQueue) => {
    const cases: [unknown, RegExp][] = [
      [validInput({ resource: 'tickets; drop' as never }), /resource "tickets; drop" is not/],
      [validInput({ endpoint: 'tickets_everything' as never }), /endpoint "tickets_everything" is not one of the seven/],
      [validInput({ endpoint: 'users_time' }), /endpoint users_time does not export tickets/],
      [validInput({ start: { kind: 'cursor', startTime: 0, cursor: null } }), /start\.next is not a time position/],
      [validInput({ start: { kind: 'time', startTime: -5 } }), /start\.next\.startTime is not a Unix time/],
      [validInput({ options: { include: ['last_audits'] } }), /options\.include names a sideload/],
      [validInput({ budget: { requests: 1e9, seconds: 1 } }), /budget\.requests is not a number of requests/],
      [validInput({ followIntervalSeconds: 1e12 }), /followIntervalSeconds is not a number of seconds/],
      [validInput({ coordinatorId: 'zendesk-account/other' }), /coordinatorId is not the coordinator of account acme/],
      [validInput({ state: { at: 'nowhere' } as never }), /state\.at is missing/],
      [null, /the input is missing/],
      // Built to break a checker that walks it: refused with a sentence, not a workflow task failing for ever.
      [validInput({ account: deepArray() as never }), /account "an array of 1" is not a Zendesk subdomain/],
    ];
    for (const [input, sentence] of cases) {
      const i = input as ExportInput | null;
      const id = i ? exportWorkflowId('acme', 'tickets', 'tickets_time') : 'zendesk-export/acme/tickets/tickets_time';
      const message = await failureOf(taskQueue, input, i && typeof i.resource === 'string' && typeof i.endpoint === 'string' ? `zendesk-export/acme/${i.resource}/${i.endpoint}` : id);
      expect(message).toMatch(sentence);
      expect(message.split(/\.\s/).length).toBe(1); // One sentence.
    }
    // A valid input under an ID that is not its own cannot pass for another export.
    expect(await failureOf(taskQueue, validInput(), 'zendesk-export/other/tickets/tickets_time')).toMatch(/is not the ID of this export/);
  });
  expect(sim.stats().requests).toBe(0);
});

test("the coordinator drops signals for another account's exports, and refuses an account it is not", async () => {
  const organizations = { resource: 'organizations' as const, endpoint: 'organizations' as const };
  await withWorker('api-token', async (taskQueue) => {
    tried += 3;
    const coordinator = await shared.env.client.workflow.signalWithStart<typeof accountCoordinator, [ExportInput]>('accountCoordinator', {
      workflowId: coordinatorWorkflowId('acme'),
      taskQueue,
      args: [{ account: 'acme' }],
      signal: startExportSignal,
      signalArgs: [validInput({ account: 'other', ...organizations })],
    });
    await coordinator.signal(startExportSignal, validInput({ account: 'evil.com#', ...organizations }));
    await coordinator.signal(startExportSignal, null as never);
    await coordinator.signal(startExportSignal, { ...validInput(), account: deepArray() } as never);
    await coordinator.signal(exportFinishedSignal, deepArray() as never, []);
    tried += 2;
    // The coordinator handled them (a query answers after its signals), and started nothing.
    await coordinator.query('coordinatorState');
    for (const account of ['other', 'evil.com#']) {
      await expect(shared.env.client.workflow.getHandle(exportWorkflowId(account, 'organizations', 'organizations')).describe()).rejects.toThrow(/not found/i);
    }
    expect((await coordinator.describe()).status.name).toBe('RUNNING');
    await coordinator.terminate('test finished');

    tried++;
    const hostile = await shared.env.client.workflow.start<typeof accountCoordinator>('accountCoordinator', {
      workflowId: 'zendesk-account/evil.com#',
      taskQueue,
      args: [{ account: 'evil.com#' }],
    });
    await expect(hostile.result()).rejects.toMatchObject({ cause: expect.objectContaining({ message: expect.stringMatching(/account "evil\.com#" is not a Zendesk subdomain/) }) });
  });
  expect(attacker.connections).toBe(0);
});
