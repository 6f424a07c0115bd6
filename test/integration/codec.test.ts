/**
 * The payload codec end to end: a worker and an ExportClient with the same keys run an export on a
 * real dev server; its histories (inputs, activity inputs and results, memos) are unreadable to a client
 * without the key, and read in full through the codec server.
 */
import { randomBytes } from 'node:crypto';
import axios from 'axios';
import type { WorkflowHandle } from '@temporalio/client';
import { AesGcmCodec, codecDataConverter, parseCodecKeys } from '../../codec';
import { startCodecServer } from '../../codec/server';
import { coordinatorWorkflowId } from '../../workflows/ids';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';

const shared = useExportServer();
let stack: ExportStack | undefined;
afterEach(() => stack?.close());

const keys = parseCodecKeys(`current=${randomBytes(32).toString('base64')}, previous=${randomBytes(32).toString('base64')}`, 'the test keys');

/** A history as any client reads it: payloads decoded from base64 only (no codec). */
async function plainHistory(handle: WorkflowHandle): Promise<{ text: string; payloads: { metadata: Record<string, string>; data: string }[] }> {
  const history = JSON.stringify(await handle.fetchHistory());
  const payloads: { metadata: Record<string, string>; data: string }[] = [];
  // Payloads serialise as {"metadata":{"encoding":"<b64>",...},"data":"<b64>"}.
  for (const m of history.matchAll(/\{"metadata":(\{[^{}]*\}),"data":"([A-Za-z0-9+/=]*)"\}/g)) payloads.push({ metadata: JSON.parse(m[1]!) as Record<string, string>, data: m[2]! });
  const text = history.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64: string) => Buffer.from(b64, 'base64').toString('latin1'));
  return { text, payloads };
}

test("an export with the codec completes, and its histories' payloads are unreadable without the key", async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 30 }, rateLimits: 'off' }, dataConverter: codecDataConverter(keys) });
  const s = stack;
  const result = await s.run(async () => {
    const handle = await s.client.start({ account: s.account, resource: 'tickets', startTime: 0, destination: s.out, perPage: 10, rateLimit: { requests: 1000, seconds: 1 } });
    const done = await handle.result();
    // The client with the key reads the recorded state back (memo) like any other.
    expect((await handle.describe()).state?.progress.records).toBe(30);
    return { done, workflowId: handle.workflowId };
  });
  expect(result.done.outcome).toBe('completed');

  const codec = new AesGcmCodec(keys);
  for (const id of [result.workflowId, coordinatorWorkflowId(s.account)]) {
    const { text, payloads } = await plainHistory(shared.env.client.workflow.getHandle(id));
    expect(payloads.length).toBeGreaterThan(2);
    // Every payload is encrypted but search attributes (metadata "type"), which the server must read to
    // index them and which hold names and statuses, never records, cursors or errors; and the SDK's own
    // patch markers (a patch ID, written by the SDK's core, which no codec sees).
    const isPatchMarker = (p: { data: string }) => /^\{"id":"[a-z-]+","deprecated":(true|false)\}$/.test(Buffer.from(p.data, 'base64').toString());
    // The SDK's own note of a local activity (its type, ID and times), beside the result the codec encodes.
    const isLocalActivityNote = (p: { data: string }) => /"activity_type":"[A-Za-z]+"/.test(Buffer.from(p.data, 'base64').toString());
    const encodings = payloads.filter((p) => !('type' in p.metadata) && !isPatchMarker(p) && !isLocalActivityNote(p)).map((p) => Buffer.from(p.metadata.encoding!, 'base64').toString());
    expect(new Set(encodings)).toEqual(new Set(['binary/encrypted']));
    for (const secret of [s.out, result.done.state.origin, 'supportTypeScope', '"pages"', 'json/plain"}']) expect(text).not.toContain(secret);
  }

  // Through the codec server (as the Web UI asks it), the same history reads in full.
  const server = await startCodecServer({ codec, token: 'integration-codec-token', port: 0 });
  try {
    const { payloads } = await plainHistory(shared.env.client.workflow.getHandle(result.workflowId));
    const answer = await axios.post(`${server.url}/decode`, { payloads }, { headers: { Authorization: 'Bearer integration-codec-token', 'X-Namespace': 'default' } });
    const decoded = (answer.data.payloads as { data: string }[]).map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
    expect(decoded).toContain(result.done.state.origin);
    expect(decoded).toContain('supportTypeScope');
  } finally {
    await server.close();
  }
});
