import { BATCH_PRIORITY, batchPriority } from '../../workflows/priority';

test('a run is keyed by its account, and a follow poll goes ahead of a backfill', () => {
  expect(batchPriority('acme', true)).toEqual({ priorityKey: BATCH_PRIORITY.follow, fairnessKey: 'acme' });
  expect(batchPriority('acme', false)).toEqual({ priorityKey: BATCH_PRIORITY.backfill, fairnessKey: 'acme' });
  expect(BATCH_PRIORITY.follow).toBeLessThan(BATCH_PRIORITY.backfill);
  // The server refuses fairness keys over 64 bytes: the longest account name (a 63-character subdomain) fits.
  expect(Buffer.byteLength(batchPriority('a'.repeat(63), false).fairnessKey!)).toBeLessThanOrEqual(64);
});
