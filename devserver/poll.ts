/** Waiting on state that lives in another process, where there is no event to await. */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `everyMs` until it returns true, and fails at the deadline (epoch ms) with its last
 * error, or at once when `check` throws (the process that should answer has exited, say).
 */
export async function poll(what: string, deadline: number, probe: () => Promise<boolean>, options: { check?: () => void; everyMs?: number } = {}): Promise<void> {
  let last: unknown;
  for (;;) {
    options.check?.();
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready in time${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(options.everyMs ?? 500);
  }
}
