/**
 * The control surface under /__sim/, for a simulator in another process: stats, faults, run-time
 * changes, and the oracle as NDJSON (each line the exact text a record is served as). Not part of
 * Zendesk's API: these requests are not counted.
 */
import type http from 'node:http';
import { RESOURCE_SPECS, isResource, isSupportTypeScope, type Resource } from '../zendesk/endpoints';
import { invalidValue, notFound } from './errors';
import type { Faults } from './faults';
import { readBody, writeAnswer } from './http';
import type { Simulator } from './handle';

const STREAM_CHUNK = 64 * 1024;

function resourceOf(value: unknown): Resource {
  if (!isResource(value)) throw invalidValue(`resource must be one of ${Object.keys(RESOURCE_SPECS).join(', ')}`);
  return value;
}

/** `route` is the path without any /accounts/<name> prefix; that name is the default account of the call. */
export async function serveControl(sim: Simulator, req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, prefixAccount: string | undefined): Promise<void> {
  const body = req.method === 'POST' ? await readBody(req) : {};
  const account = (typeof body.account === 'string' ? body.account : undefined) ?? url.searchParams.get('account') ?? prefixAccount;
  switch (`${req.method} ${route}`) {
    case 'GET /__sim/stats':
      return writeAnswer(res, 200, sim.stats());
    case 'POST /__sim/reset-stats':
      sim.resetStats();
      return writeAnswer(res, 200, { ok: true });
    case 'GET /__sim/faults':
      return writeAnswer(res, 200, sim.faults());
    case 'POST /__sim/faults':
      sim.setFaults(body as Partial<Faults>);
      return writeAnswer(res, 200, sim.faults());
    case 'POST /__sim/update':
      return writeAnswer(res, 200, sim.updateRecord(account, resourceOf(body.resource), Number(body.id)));
    case 'POST /__sim/add':
      return writeAnswer(res, 200, { ids: sim.addRecords(account, resourceOf(body.resource), Number(body.n ?? 1)) });
    case 'POST /__sim/revoke-grant':
      return writeAnswer(res, 200, { revoked: typeof body.token === 'string' && sim.revokeGrant(body.token) });
    case 'GET /__sim/expected':
      return streamExpected(sim, res, url.searchParams, account);
  }
  throw notFound();
}

async function streamExpected(sim: Simulator, res: http.ServerResponse, q: URLSearchParams, account: string | undefined): Promise<void> {
  const scope = q.get('support_type_scope') ?? undefined;
  if (scope !== undefined && !isSupportTypeScope(scope)) throw invalidValue('support_type_scope must be all, agent or ai_agent');
  const texts = sim.iterateExpectedText(account, resourceOf(q.get('resource')), {
    supportTypeScope: scope,
    excludeDeleted: q.get('exclude_deleted') === 'true',
    startTime: q.has('start_time') ? Number(q.get('start_time')) : undefined,
  });
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  // Streamed with backpressure: a million records never sit in memory at once.
  let chunk = '';
  for (const text of texts) {
    chunk += `${text}\n`;
    if (chunk.length > STREAM_CHUNK) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      chunk = '';
      if (res.destroyed) return;
    }
  }
  res.end(chunk);
}
