/**
 * Every bound on what crosses into the worker, in one place: the client refuses what the worker would
 * refuse, with the same numbers. Pure, imports nothing.
 */

/** Budgets are per window of at most a day, of at most 1000 requests (Zendesk sells 10 to 60 a minute). */
export const MAX_BUDGET_REQUESTS = 1000;
export const MAX_BUDGET_SECONDS = 86_400;
/** Follow mode polls at least daily. */
export const MAX_FOLLOW_SECONDS = 86_400;
/** Requests one batch may make (the largest budget Zendesk sells is 60 a minute). */
export const MAX_REQUESTS_PER_BATCH = 1000;
/** Pages one workflow run may fetch before continuing as new. */
export const MAX_PAGES_PER_RUN = 1_000_000;
/** Versions remembered at one second; more would bloat workflow state (a page holds at most 1000). */
export const MAX_BOUNDARY_KEYS = 50_000;
/** Zendesk's cursors are a few hundred characters; one far longer is not carried in workflow state. */
export const MAX_CURSOR_LENGTH = 2048;
/** A folder name a client may give. */
export const MAX_PATH_LENGTH = 1024;
/** Notes an export keeps for the user: a follow export runs for months, its state must not grow with it. */
export const MAX_NOTES = 10;
/** Workflow IDs a page activity may be told it works for. */
export const MAX_WORKFLOW_ID_LENGTH = 300;

/**
 * A batch starts no request later than this after it was first scheduled, retries included: so a pause
 * or a smaller share takes effect soon, and the account's budget can count on a batch's requests having
 * left by then.
 */
export const BATCH_SENDING_MS = 10_000;

/**
 * A follow batch polls for at most this long: one activity makes a caught-up export's polls of an hour,
 * so the export's counts in its workflow are at most this far behind its files.
 */
export const FOLLOW_BATCH_MS = 3_600_000;

/**
 * A backfill held to its budget makes the rounds of its next windows in one batch, for at most this
 * long: one workflow round trip for several windows, and the export's counts in its workflow at most
 * this far behind its files.
 */
export const ROUNDS_BATCH_MS = 300_000;

/** A cursor as Zendesk hands them out (URL-safe base64 and the like): printable ASCII, no spaces. */
export function isCursor(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_CURSOR_LENGTH && /^[\x21-\x7e]+$/.test(value);
}
