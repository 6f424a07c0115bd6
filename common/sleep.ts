/** Waiting that a stop can cut short: the CLI's watch, the client's wait for a start, an activity's paced sends. */

/**
 * Resolves after `ms`, or at once when `signal` aborts (callers check `signal.aborted` to tell which).
 * The signal's listener methods are optional: an activity's cancellation signal may be a bare
 * `{ aborted }` where it is made by hand.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener?.('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener?.('abort', done, { once: true });
  });
}
