/** Errors the client library throws for people: one sentence each, never a stack trace. */

/** A mistake in what was asked (a bad date, an unknown resource): the CLI exits 2 with the sentence. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Temporal cannot be reached, or no worker answers: the CLI exits 2 with the sentence. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}
