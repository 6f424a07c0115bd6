/**
 * Figures, printed rather than asserted: one export of 50 pages of 1,000 tickets, no rate limit, by
 * two worker processes, on the multi-service cluster (four services, PostgreSQL, mutual TLS) and then
 * on the dev server (one process, SQLite) in the same run: mean wall time per page, and CPU per page
 * of the workers, of the Temporal processes, and of this process (which serves the simulator). What is
 * asserted is that both exports are complete and exactly once, so the figures describe a correct run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../../devserver';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { ExportClient } from '../../client/export-client';
import { simulatorWorkerEnv } from '../../simulator';
import { treeCpuSeconds } from './procfs';
import { clusterSuite, eventually, expectExactlyOnce, useClusterStack } from './stack';

const ACCOUNT = 'figures';
const PAGE = 1000;
const PAGES = 50;
const ALL = { supportTypeScope: 'all' as const };

const stack = useClusterStack({ accounts: [ACCOUNT], simulator: { sizes: { tickets: PAGE * PAGES, users: 1, organizations: 1, ticket_events: 1 } } });

interface Figures {
  pages: number;
  msPerPage: number;
  workerCpuMsPerPage: number;
  serverCpuMsPerPage: Record<string, number>;
  thisProcessCpuMsPerPage: number;
}

const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Runs the export once and turns the CPU counters read before and after into milliseconds per page. */
async function measure(client: ExportClient, destination: string, cpu: { workers(): number; servers(): Record<string, number> }): Promise<Figures> {
  const before = { workers: cpu.workers(), servers: cpu.servers(), own: ownCpu(), at: Date.now() };
  const handle = await client.start({ account: ACCOUNT, resource: 'tickets', startTime: 0, perPage: PAGE, destination, rateLimit: { requests: 1000, seconds: 1 } });
  const result = await handle.result();
  const after = { workers: cpu.workers(), servers: cpu.servers(), own: ownCpu(), at: Date.now() };
  expect(result.outcome).toBe('completed');
  expectExactlyOnce(path.join(destination, ACCOUNT), 'tickets', stack.sim.expected(ACCOUNT, 'tickets', ALL));
  const { pages } = result.state.progress;
  const perPage = (seconds: number) => Math.round(((seconds * 1000) / pages) * 10) / 10;
  return {
    pages,
    msPerPage: perPage((after.at - before.at) / 1000),
    workerCpuMsPerPage: perPage(after.workers - before.workers),
    serverCpuMsPerPage: Object.fromEntries(Object.keys(after.servers).map((name) => [name, perPage(after.servers[name]! - before.servers[name]!)])),
    thisProcessCpuMsPerPage: perPage(after.own - before.own),
  };
}

/** The same export on the dev server, with two worker processes given the same accounts and output root. */
async function onDevServer(destination: string): Promise<Figures> {
  const server = await startDevServer();
  const taskQueue = 'figures-devserver';
  const workers: WorkerProcess[] = [];
  const connection = await Connection.connect({ address: server.address });
  try {
    const env = { ...simulatorWorkerEnv(stack.sim, { perAccount: true }), ZENDESK_ACCOUNTS: ACCOUNT, ZENDESK_EXPORT_OUTPUT_ROOT: stack.root };
    for (let i = 0; i < 2; i++) workers.push(startWorkerProcess({ temporalAddress: server.address, taskQueue, env, inheritEnv: false, logLevel: 'INFO' }));
    // Checked with the rest for leftovers after the file.
    for (const pid of [server.pid!, ...workers.map((w) => w.pid)]) stack.groups.add(pid);
    await eventually('the dev-server workers to poll', async () => (workers.every((w) => /Worker polling task queue/.test(w.output())) ? true : undefined), 60_000);
    const client = new ExportClient({ client: new Client({ connection }), taskQueue, startTimeoutMs: 60_000 });
    return await measure(client, destination, {
      workers: () => workers.reduce((sum, w) => sum + w.cpuSeconds(), 0),
      servers: () => ({ 'dev server': treeCpuSeconds(server.pid!) }),
    });
  } finally {
    await connection.close();
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await server.stop();
  }
}

clusterSuite('figures: one export of 1,000-record pages on the cluster and on the dev server', () => {
  test('time and CPU per page, printed', async () => {
    const scratch = mkdtempSync(path.join(stack.root, 'figures-'));
    try {
      const cluster = await measure(stack.client, path.join(scratch, 'cluster'), {
        workers: () => [...stack.workers.values()].reduce((sum, w) => sum + w.cpuSeconds(), 0),
        servers: () => {
          const services = stack.cluster.cpuSeconds();
          return { ...services, postgres: treeCpuSeconds(stack.cluster.pids().postgres!) };
        },
      });
      const dev = await onDevServer(path.join(scratch, 'devserver'));
      expect(cluster.pages).toBe(dev.pages);

      const sum = (f: Figures) => Object.values(f.serverCpuMsPerPage).reduce((a, b) => a + b, 0).toFixed(1);
      const line = (name: string, f: Figures) =>
        `  ${name.padEnd(10)} ${f.msPerPage.toFixed(1).padStart(6)} ms a page; CPU a page: workers ${f.workerCpuMsPerPage.toFixed(1)} ms, ` +
        `Temporal ${sum(f)} ms (${Object.entries(f.serverCpuMsPerPage).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}), test process (simulator) ${f.thisProcessCpuMsPerPage.toFixed(1)} ms`;
      process.stdout.write(
        [
          '',
          `figures (${new Date().toISOString()}, ${os.cpus().length} cores): tickets, ${dev.pages} pages of ${PAGE}, no rate limit, two worker processes`,
          line('cluster', cluster),
          line('dev server', dev),
          '',
        ].join('\n'),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
