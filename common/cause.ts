/**
 * The chain of causes of an error, as Temporal nests them (WorkflowFailedError → ActivityFailure →
 * ApplicationFailure). Pure: workflows use it too.
 */

/** `err`, its cause, that one's cause, and so on: outermost first, innermost last. */
export function causeChain<T extends { cause?: unknown }>(err: unknown): (T | undefined)[] {
  let e = err as T | undefined;
  const chain = [e];
  while (e?.cause) chain.push((e = e.cause as T));
  return chain;
}

/** The innermost cause, whose message says what went wrong (Zendesk's, the destination's, the worker's). */
export function innermostCause<T extends { cause?: unknown; message?: string }>(err: unknown): T | undefined {
  return causeChain<T>(err).at(-1);
}
