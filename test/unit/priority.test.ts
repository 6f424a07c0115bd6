import { RUN_PRIORITY, runPriority } from '../../workflows/priority';

test('a run is keyed by its account, and a follow poll goes ahead of a backfill', () => {
  expect(runPriority('acme', true)).toEqual({ priorityKey: RUN_PRIORITY.follow, fairnessKey: 'acme' });
  expect(runPriority('acme', false)).toEqual({ priorityKey: RUN_PRIORITY.backfill, fairnessKey: 'acme' });
  expect(RUN_PRIORITY.follow).toBeLessThan(RUN_PRIORITY.backfill);
  // The server refuses fairness keys over 64 bytes: the longest account name (a 63-character subdomain) fits.
  expect(Buffer.byteLength(runPriority('a'.repeat(63), false).fairnessKey!)).toBeLessThanOrEqual(64);
});
