/** A batch's result is believed only when it fits its request (contract/batch-result.ts) and carries the worker's seal (activities/seal.ts). */
import { ApplicationFailure } from '@temporalio/activity';
import type { BatchInput, BatchResult } from '../../contract/page-activity';
import { createSealer, isGenuine, sealedBatch, sealKeyFromEnv, sealShares } from '../../activities/seal';
import { checkBatchResult, MAX_RETRY_AFTER_SECONDS } from '../../contract/batch-result';
import { sentence } from '../../contract/problem';
import { shareGrant } from '../../contract/share';
import { batchResult } from '../helpers/batch';
import type { ExportPosition } from '../../zendesk/paging';

const at = (startTime: number, endpoint: ExportPosition['endpoint'] = 'tickets_time'): ExportPosition =>
  endpoint === 'tickets_time'
    ? { endpoint, next: { kind: 'time', startTime }, boundary: { second: -1, keys: [] } }
    : { endpoint, next: { kind: 'cursor', startTime, cursor: 'abc' }, boundary: { second: -1, keys: [] } };

const request: BatchInput = {
  target: { account: 'acme', resource: 'tickets', options: {}, destination: { kind: 'ndjson', dir: 'out' }, exportId: 'zendesk-export/acme/tickets/tickets_time', origin: '20260101T000000.000Z-tickets_time' },
  at: at(1000),
  firstPage: 3,
  maxRequests: 2,
  laterMs: [5000],
};

const result = (extra: Partial<BatchResult> = {}): BatchResult => batchResult(at(2000), extra);

describe('checkBatchResult', () => {
  test.each([
    ['a batch that moved on', result()],
    ['a batch that wrote nothing and stayed', result({ at: request.at, pages: 0, records: 0, repeats: 0, sideloaded: 0, sentAgoMs: [0], stop: 'failed', failure: { type: 'ZendeskServerError' as never, message: '503' } })],
    ['a 429 waited out for an hour', result({ at: request.at, pages: 0, records: 0, repeats: 0, sideloaded: 0, stop: 'rate-limited', retryAfter: { seconds: MAX_RETRY_AFTER_SECONDS, capped: true } })],
    ['a stuck second switched to the cursor endpoint', result({ at: at(1000, 'tickets_cursor'), pages: 1, sentAgoMs: [1] })],
    ['the end of the stream', result({ stop: 'end-of-stream', rateLimit: { total: 10, remaining: 3, resetsSeconds: 20, bucket: 'zendesk-ratelimit-incremental-exports' } })],
  ])('believes %s', (_, r) => {
    expect(checkBatchResult(request, r)).toBeUndefined();
  });

  test.each([
    ['an end of stream with no page (a forged completion)', { at: request.at, pages: 0, records: 0, repeats: 0, sideloaded: 0, sentAgoMs: [], stop: 'end-of-stream', notes: [] }, /is end-of-stream with no page written/],
    ['a Retry-After of a century', result({ pages: 0, records: 0, repeats: 0, sideloaded: 0, at: request.at, stop: 'rate-limited', retryAfter: { seconds: 100 * 365 * 86_400, capped: false } }), /retryAfter is not a wait of 0 to 3600/],
    ['a position behind the one sent', result({ at: at(999) }), /at is behind/],
    ['a position that moved with no page written', result({ pages: 0, records: 0, repeats: 0, sideloaded: 0 }), /at moved without a page/],
    ["another resource's endpoint", result({ at: { endpoint: 'users_time', next: { kind: 'time', startTime: 2000 }, boundary: { second: -1, keys: [] } } }), /does not export tickets/],
    ['another endpoint of the same resource', result({ at: { ...at(2000), endpoint: 'sample' } }), /at\.endpoint sample is not tickets_time nor its cursor endpoint/],
    ['more pages than requests allowed', result({ pages: 4, sentAgoMs: [1, 1, 1, 1] }), /pages is not a number of pages from 0 to 3/],
    ['more records than its pages hold', result({ records: 1e9 }), /is not a number of records its pages can hold/],
    ['fewer sends than pages', result({ sentAgoMs: [1] }), /fewer requests than pages/],
    ['sends from before the batch could exist', result({ sentAgoMs: [1e12, 1] }), /sentAgoMs/],
    ['an unknown stop', result({ stop: 'done' as never }), /stop is not/],
    ['a failed batch without its failure', result({ stop: 'failed' }), /failure is not/],
    ['a Retry-After without a 429', result({ retryAfter: { seconds: 5, capped: false } }), /retryAfter comes without a 429/],
    ['a rate-limit header of any shape', result({ rateLimit: { total: -1 } }), /rateLimit/],
    ['not an object', 'completed', /the result is missing/],
  ])('refuses %s', (_, r, said) => {
    const p = checkBatchResult(request, r);
    expect(p && sentence(p)).toMatch(said);
  });

  test('names the field that is wrong, as every validator of the contract does', () => {
    expect(checkBatchResult(request, result({ at: { ...at(2000), endpoint: 'sample' } }))).toEqual({ field: 'at.endpoint', problem: 'sample is not tickets_time nor its cursor endpoint' });
    expect(checkBatchResult(request, result({ repeats: 1e9 }))).toEqual({ field: 'repeats', problem: 'is not a number of records its pages can hold' });
    expect(checkBatchResult(request, result({ retryAfter: { seconds: 5, capped: false } }))?.field).toBe('retryAfter');
    expect(checkBatchResult(request, 'completed')).toEqual({ field: '', problem: 'the result is missing' });
  });
});

describe('the seal', () => {
  const sealer = createSealer(Buffer.from('k'.repeat(32)));
  const other = createSealer(Buffer.from('x'.repeat(32)));

  test("a result the worker sealed is believed, for its own request only; another key's, a changed one or none is not", async () => {
    const sealed = await sealedBatch(sealer, request, async () => result());
    expect(isGenuine(sealer, { kind: 'result', request, result: sealed })).toBe(true);
    // Through JSON, as Temporal carries it.
    expect(isGenuine(sealer, { kind: 'result', request: JSON.parse(JSON.stringify(request)), result: JSON.parse(JSON.stringify(sealed)) })).toBe(true);
    expect(isGenuine(other, { kind: 'result', request, result: sealed })).toBe(false);
    expect(isGenuine(sealer, { kind: 'result', request: { ...request, firstPage: 4 }, result: sealed })).toBe(false);
    expect(isGenuine(sealer, { kind: 'result', request, result: { ...sealed, stop: 'end-of-stream' } })).toBe(false);
    expect(isGenuine(sealer, { kind: 'result', request, result: result() })).toBe(false);
  });

  test('a failure that ends the export leaves sealed; one that is retried leaves as it was', async () => {
    const ending = await sealedBatch(sealer, request, () => Promise.reject(ApplicationFailure.nonRetryable('bad token', 'ZendeskAuthError'))).then(() => undefined, (e: ApplicationFailure) => e);
    expect(ending).toBeInstanceOf(ApplicationFailure);
    if (!ending) return;
    const failure = { type: 'ZendeskAuthError', message: 'bad token' };
    expect(isGenuine(sealer, { kind: 'failure', request, failure, seal: ending.details?.[0] })).toBe(true);
    expect(isGenuine(sealer, { kind: 'failure', request, failure: { ...failure, message: 'other' }, seal: ending.details?.[0] })).toBe(false);
    expect(isGenuine(sealer, { kind: 'failure', request, failure, seal: undefined })).toBe(false);
    const retried = new Error('connection reset');
    await expect(sealedBatch(sealer, request, () => Promise.reject(retried))).rejects.toBe(retried);
  });

  test("a coordinator's share is believed for its export, with its number, as the worker sealed it; any change or another key's is not", () => {
    const grant = shareGrant(request.target.exportId, 2, { requests: 10, seconds: 60 }, [1000], 5);
    const [seal] = sealShares(sealer, [grant]);
    expect(isGenuine(sealer, { kind: 'share', grant, seal })).toBe(true);
    // As the export rebuilds it from the signal's arguments, through JSON and with the budget's fields in another order.
    const budget = JSON.parse('{"seconds":60,"requests":10}') as { requests: number; seconds: number };
    expect(isGenuine(sealer, { kind: 'share', grant: shareGrant(grant.exportId, 2, budget, [1000], 5), seal })).toBe(true);
    for (const changed of [
      { ...grant, exportId: 'zendesk-export/acme/users/users' },
      { ...grant, share: 3 },
      { ...grant, budget: { requests: 20, seconds: 60 } },
      { ...grant, sends: [] },
      { ...grant, seq: 6 },
    ]) {
      expect(isGenuine(sealer, { kind: 'share', grant: changed, seal })).toBe(false);
    }
    expect(isGenuine(other, { kind: 'share', grant, seal })).toBe(false);
    expect(isGenuine(sealer, { kind: 'share', grant, seal: undefined })).toBe(false);
    // A seal of another kind over the same values vouches for no share.
    expect(isGenuine(sealer, { kind: 'share', grant, seal: sealer.seal('result', grant.exportId, grant) })).toBe(false);
  });

  test('the key: set (at least 32 characters), else derived from the secrets the worker holds, alike on every worker of a deployment', () => {
    expect(() => sealKeyFromEnv({ ZENDESK_EXPORT_SEAL_KEY: 'short' })).toThrow(/at least 32 characters/);
    expect(sealKeyFromEnv({ ZENDESK_EXPORT_SEAL_KEY: 's'.repeat(40) })).toEqual(Buffer.from('s'.repeat(40)));
    const env = { ZENDESK_EMAIL: 'a@b.c', ZENDESK_API_TOKEN: 'token-1' };
    expect(sealKeyFromEnv(env)).toEqual(sealKeyFromEnv({ ...env }));
    expect(sealKeyFromEnv(env)).not.toEqual(sealKeyFromEnv({ ...env, ZENDESK_API_TOKEN: 'token-2' }));
    expect(sealKeyFromEnv(env).toString('utf8')).not.toContain('token-1');
    expect(sealKeyFromEnv({})).not.toEqual(sealKeyFromEnv({})); // No secret held: a key of its own.
  });
});
