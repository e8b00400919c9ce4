/**
 * A FIFO of callers waiting for something a pool hands out (a connection, a permit), each with its own
 * deadline. Pools that need a bounded acquire wait (SQLite's worker pool, the MySQL permit gate) share it.
 */
interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WaitQueue<T> {
  private readonly waiters: Waiter<T>[] = [];

  /** How many callers are waiting now. */
  get length(): number {
    return this.waiters.length;
  }

  /** Waits until `handOff` serves this caller, or rejects with `timeoutError()` after `timeoutMs`. */
  wait(timeoutMs: number, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(timeoutError());
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Gives `value` to the longest waiter; false when nobody waits (the caller keeps the value). */
  handOff(value: T): boolean {
    const waiter = this.take();
    if (!waiter) return false;
    waiter.resolve(value);
    return true;
  }

  /** Removes the longest waiter, deadline cleared, for a caller that settles it later itself. */
  take(): Pick<Waiter<T>, 'resolve' | 'reject'> | undefined {
    const waiter = this.waiters.shift();
    if (waiter) clearTimeout(waiter.timer);
    return waiter;
  }

  /** Rejects everyone (shutdown). */
  rejectAll(err: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
