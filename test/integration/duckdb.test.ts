/**
 * README's DuckDB queries over the NDJSON files, run as written there (paths and ids filled in) by a
 * real DuckDB (`@duckdb/node-api`, its JSON reader built in: no extension is downloaded, and the test
 * forbids it) against a real export from the simulator, and answering what the simulator's oracle says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';

const FAST = { requests: 1000, seconds: 1 };
type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const shared = useExportServer();
let stack: ExportStack | undefined;
let duck: DuckDBConnection | undefined;
afterAll(async () => {
  duck?.closeSync();
  await stack?.close();
});

/** README's DuckDB queries, in order, with the export folder and the ticket of this run. */
function readmeQueries(folder: string, ticketId: number): string[] {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Reading the files with [DuckDB]'), readme.indexOf('## Into PostgreSQL'));
  const queries = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return queries.map((q) => q.replaceAll("'export/acme/", `'${folder}/`).replaceAll('id = 42', `id = ${ticketId}`));
}

test("README's DuckDB queries answer what an NDJSON export holds: tickets per status, one ticket's versions, its comments", async () => {
  const s = (stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 80, users: 10, organizations: 5, ticket_events: 240 }, rateLimits: 'off' } }));
  const exportTickets = async () => {
    await s.run(async () => {
      const requests = [
        { account: s.account, resource: 'tickets' as const, startTime: 0, perPage: 25, destination: s.out, rateLimit: FAST },
        { account: s.account, resource: 'ticket_events' as const, startTime: 0, perPage: 50, destination: s.out, rateLimit: FAST, include: ['comment_events'] },
      ];
      for (const h of await s.client.startMany(requests)) await h.result();
    });
  };
  const events: Rec[] = s.sim.expected(undefined, 'ticket_events', { supportTypeScope: 'all', commentEvents: true });
  const comments = events.flatMap((e) => e.child_events.filter((c: Rec) => c.event_type === 'Comment').map((c: Rec) => ({ ...c, ticket_id: e.ticket_id })));
  const perTicket = new Map<number, number>();
  for (const c of comments) perTicket.set(c.ticket_id, (perTicket.get(c.ticket_id) ?? 0) + 1);
  const ticketId = [...perTicket].sort((a, b) => b[1] - a[1])[0]![0];
  expect(perTicket.get(ticketId)).toBeGreaterThan(1);

  // Two exports of the whole range, a new version of the ticket between them: its old version comes twice.
  await exportTickets();
  const before = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).find((t) => t.id === ticketId)!;
  const after = s.sim.updateRecord(undefined, 'tickets', ticketId);
  // The simulator serves a version once its second has passed, as Zendesk serves none of the last moments.
  while (Date.now() / 1000 < (after.generated_timestamp as number) + 1) await new Promise((r) => setTimeout(r, 50));
  await exportTickets();

  duck = await (await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' })).connect();
  const queries = readmeQueries(path.join(s.out, s.account), ticketId);
  expect(queries).toHaveLength(3);
  const ask = async (i: number) => (await duck!.runAndReadAll(queries[i]!)).getRowObjectsJson() as Rec[];

  const tickets: Rec[] = s.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  const statuses = new Map<string, number>();
  for (const t of tickets) statuses.set(t.status, (statuses.get(t.status) ?? 0) + 1);
  expect(await ask(0)).toEqual([...statuses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([status, n]) => ({ status, tickets: String(n) })));

  const versions = await ask(1);
  expect(versions.map((v) => ({ ...v, updated_at: new Date(v.updated_at).toISOString() }))).toEqual(
    [before, after].map((t) => ({ generated_timestamp: String(t.generated_timestamp), updated_at: new Date(t.updated_at as string).toISOString(), status: t.status })),
  );

  const ofTicket = comments.filter((c) => c.ticket_id === ticketId).sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
  const found = await ask(2);
  expect(found.map((c) => ({ ...c, created_at: new Date(c.created_at).toISOString() }))).toEqual(
    ofTicket.map((c) => ({ created_at: new Date(c.created_at).toISOString(), id: String(c.id), author_id: String(c.author_id), public: c.public, body: c.body })),
  );
});
