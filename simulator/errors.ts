/**
 * Zendesk's error answers, as quoted from real responses (see docs/zendesk-behaviour.md). Where real
 * answers differ between recordings, each form is a variant the simulator can be told to give.
 */

/** An answer other than 200: a JSON body, or a string sent as text/plain. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(String(status));
  }
}

/** A bad parameter. Zendesk's bodies for these are not on record; this envelope is its usual one. */
export const invalidValue = (description: string) => new HttpError(400, { error: 'InvalidValue', description });

export const notFound = () => new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });

export const unauthenticated = () => new HttpError(401, { error: "Couldn't authenticate you" });

/** How a 429 reads: the incremental exports' JSON body (recorded), or the account limit's plain text (seen live). */
export type RateLimitAnswer = 'json' | 'text';
export const RATE_LIMIT_ANSWERS: readonly RateLimitAnswer[] = ['json', 'text'];

export function rateLimited(answer: RateLimitAnswer): HttpError {
  return new HttpError(
    429,
    answer === 'text'
      ? 'Number of allowed API requests per minute exceeded'
      : { error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' },
  );
}

/**
 * How a 422 for a too recent (or future) start_time reads: the recorded JSON and plain-text forms that
 * name 5 minutes, or the JSON form naming the one-minute rule of 2024 (its wording is not on record).
 */
export type TooRecentAnswer = 'json-5-minutes' | 'text-5-minutes' | 'json-1-minute';
export const TOO_RECENT_ANSWERS: readonly TooRecentAnswer[] = ['json-5-minutes', 'text-5-minutes', 'json-1-minute'];

export function tooRecent(answer: TooRecentAnswer): HttpError {
  const sentence = `Too recent start_time. Use a start_time older than ${answer === 'json-1-minute' ? '1 minute' : '5 minutes'}`;
  return new HttpError(422, answer === 'text-5-minutes' ? sentence : { error: 'InvalidValue', description: sentence });
}
