/**
 * A cap on the bytes of Zendesk answers a worker process holds at once, across all its batches:
 * each answer takes its bytes as they arrive and gives them all back when it is done. An answer whose
 * next bytes do not fit waits (its socket is not read, so the sender slows down) until others give
 * theirs back, first come first served. When every answer being read is waiting, none would ever give
 * bytes back: the one opened last is refused and gives its bytes back, so the others go on.
 */

export class AnswerMemoryFullError extends Error {
  override readonly name = 'AnswerMemoryFullError';
}

interface Waiter {
  reader: object;
  bytes: number;
  grant(): void;
  refuse(err: Error): void;
}

export class AnswerMemory {
  private used = 0;
  private readonly held = new Map<object, number>();
  private readonly queue: Waiter[] = [];

  constructor(readonly limit: number) {}

  /** Bytes held now, by all answers being read. */
  get inUse(): number {
    return this.used;
  }

  /** Answers waiting for bytes to be given back. */
  get waiting(): number {
    return this.queue.length;
  }

  /** One answer's account: `take` its bytes as they arrive, `release` them all when it is done. */
  open(): { take(bytes: number, signal?: AbortSignal): Promise<void>; release(): void } {
    const reader = {};
    this.held.set(reader, 0);
    return {
      take: (bytes, signal) => this.take(reader, bytes, signal),
      release: () => this.release(reader, new AnswerMemoryFullError('released while waiting')),
    };
  }

  private take(reader: object, bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.queue.length === 0 && this.used + bytes <= this.limit) {
      this.grant(reader, bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
        this.serve();
      };
      const waiter: Waiter = {
        reader,
        bytes,
        grant: () => {
          leave();
          this.grant(reader, bytes);
          resolve();
        },
        refuse: (err) => {
          leave();
          reject(err);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      this.queue.push(waiter);
      this.serve();
    });
  }

  private grant(reader: object, bytes: number): void {
    this.used += bytes;
    this.held.set(reader, (this.held.get(reader) ?? 0) + bytes);
  }

  /** Gives back all of a reader's bytes; a take of it still waiting is refused with `err`. */
  private release(reader: object, err: Error): void {
    if (!this.held.has(reader)) return;
    this.used -= this.held.get(reader)!;
    this.held.delete(reader);
    for (const w of this.queue.filter((w) => w.reader === reader)) w.refuse(err);
    this.serve();
  }

  /**
   * Grants waiters in order while they fit. When every open answer is waiting, the one opened last
   * is refused (the older ones are further on), and its bytes go to the others.
   */
  private serve(): void {
    while (this.queue.length > 0 && this.used + this.queue[0]!.bytes <= this.limit) this.queue[0]!.grant();
    if (this.queue.length > 0 && this.queue.length >= this.held.size) {
      const newest = [...this.held.keys()].reverse().find((reader) => this.queue.some((w) => w.reader === reader));
      const err = new AnswerMemoryFullError(`the worker already holds ${Math.round(this.used / 1048576)} MiB of answers, its limit`);
      this.release(newest!, err);
    }
  }
}
