/**
 * The worker's activities around a mocked page activity (for workflow tests that script what a batch
 * answers): its results and the coordinator's shares sealed as the real worker seals them, the seal checks, and rate ceilings.
 */
import type { BatchInput, BatchResult } from '../../contract/page-activity';
import { createSealer, isGenuine, sealedBatch, sealShares, type SealClaim } from '../../activities/seal';
import type { ShareGrant } from '../../contract/share';
import { RATE_BUCKET_NAMES, type RateCeilings } from '../../zendesk/endpoints';

/** Every bucket at the highest budget an export may ask for: the test's budgets decide. */
export const NO_CEILING = Object.fromEntries(RATE_BUCKET_NAMES.map((b) => [b, { requests: 1000, seconds: 1 }])) as RateCeilings;

export function mockedActivities(fetchPages: (input: BatchInput) => Promise<BatchResult>, ceilings: RateCeilings = NO_CEILING) {
  const sealer = createSealer(Buffer.from('a test key of at least thirty-two characters'));
  return {
    fetchPages: (input: BatchInput) => sealedBatch(sealer, input, () => fetchPages(input)),
    isGenuine: async (claim: SealClaim) => isGenuine(sealer, claim),
    sealShares: async (grants: ShareGrant[]) => sealShares(sealer, grants),
    rateCeilings: async () => ceilings,
    // The mock writes nothing, so every destination will do (test/integration checks the real one's refusals).
    checkDestination: async () => undefined,
  };
}
