/** Waiting on state that lives in another process, where there is no event to await. */
import { sleep } from '../common/sleep';

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined, and returns that.
 * Fails after `timeoutMs` with the probe's last error, or at once when `check` throws (the process that
 * should answer has exited, say).
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 250, check?: () => void): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    check?.();
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)}s${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** `eventually` for a probe that answers yes or no, until a deadline (epoch ms). */
export async function poll(what: string, deadline: number, probe: () => Promise<boolean>, options: { check?: () => void; everyMs?: number } = {}): Promise<void> {
  await eventually(what, async () => ((await probe()) ? true : undefined), deadline - Date.now(), options.everyMs ?? 500, options.check);
}
