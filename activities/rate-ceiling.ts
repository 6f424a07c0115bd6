/**
 * ZENDESK_RATE_CEILING: the operator's ceiling for each rate bucket, read by the worker. Workflows
 * cannot read the worker's environment, so each workflow run asks for it once through a local
 * activity, whose answer the worker records in history (replays read it from there).
 */
import { defaultCeilings, isRateBucket, RATE_BUCKET_NAMES, type RateBucket, type RateCeilings } from '../zendesk/endpoints';
import type { Env } from '../zendesk/credentials';
import { ZendeskConfigError } from '../zendesk/errors';

const ENTRY = /^([a-z-]+)=(\d{1,4})\/(\d{1,6})$/;

/**
 * `incremental-exports=30/60,incremental-exports-cursor=60/60` (High Volume). Buckets not named keep
 * Zendesk's published limits: 10/60, 20/60 for the users cursor export, 10/1200 for the sample.
 */
export function rateCeilingsFromEnv(env: Env, given: Partial<RateCeilings> = {}): RateCeilings {
  const ceilings = { ...defaultCeilings(), ...given };
  const value = env.ZENDESK_RATE_CEILING?.trim();
  if (!value) return ceilings;
  for (const entry of value.split(',').map((s) => s.trim())) {
    const m = ENTRY.exec(entry);
    const [requests, seconds] = m ? [Number(m[2]), Number(m[3])] : [0, 0];
    if (!m || !isRateBucket(m[1]!) || requests < 1 || requests > 1000 || seconds < 1 || seconds > 86_400) {
      throw new ZendeskConfigError(
        `ZENDESK_RATE_CEILING must list <bucket>=<requests>/<seconds> separated by commas (buckets: ${RATE_BUCKET_NAMES.join(', ')}; 1 to 1000 requests per 1 to 86400 seconds), not "${entry.slice(0, 80)}".`,
      );
    }
    ceilings[m[1] as RateBucket] = { requests, seconds };
  }
  return ceilings;
}
