/**
 * The refresher process: one refresh of one account's grant (refresh.ts), started by a worker
 * (refresher-process.ts), detached from it so that it outlives the worker. It reads its input on stdin,
 * writes one line of outcome on stdout (nothing secret: the worker reads the token from the registry),
 * and exits. Bounded: the row lock is waited for at most a minute, the token request 30 seconds, and
 * past REFRESHER_DEADLINE_MS the process exits whatever it was doing.
 */
import { keyringFromText } from './keys';
import { failedWith, refreshUnderLock, type RefreshOutcome } from './refresh';
import type { RefresherInput } from './refresher-process';
import { openRegistry } from './registry';

/** A backstop: the lock wait (60 s) and the token request (30 s) end well before. */
export const REFRESHER_DEADLINE_MS = 150_000;
const MAX_INPUT_BYTES = 64 * 1024;

async function readInput(): Promise<RefresherInput> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > MAX_INPUT_BYTES) throw new Error('input too large');
  }
  const input = JSON.parse(text) as RefresherInput;
  if (typeof input?.url !== 'string' || typeof input.keys !== 'string' || typeof input.account !== 'string') throw new Error('input malformed');
  return input;
}

async function refresh(): Promise<RefreshOutcome> {
  let input: RefresherInput;
  try {
    input = await readInput();
  } catch (err) {
    return { outcome: 'failed', kind: 'transient', message: `The token refresher could not read its input (${(err as Error).message}).` };
  }
  // For the registry's pool only: this process was started without the worker's variables.
  if (input.password !== undefined) process.env.PGPASSWORD = input.password;
  let registry;
  try {
    registry = openRegistry(input.url, keyringFromText(input.keys));
    return await refreshUnderLock(registry, input.account, input.stale);
  } catch (err) {
    return failedWith(err);
  } finally {
    await registry?.close().catch(() => undefined);
  }
}

function main(): void {
  // The worker may be gone (killed mid-refresh): writing to its pipe then fails, and that is fine.
  process.stdout.on('error', () => undefined);
  setTimeout(() => process.exit(3), REFRESHER_DEADLINE_MS).unref();
  void refresh().then((outcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`, () => process.exit(0)));
}

if (require.main === module) main();
