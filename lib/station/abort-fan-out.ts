/**
 * One 'abort' listener on a shared signal, fanned out to any number of short-lived subscribers.
 *
 * Why: a station hands one stop signal to every run and every idle probe's poll. Each of those
 * adding its own listener to the shared signal puts one listener per probe on it (Node warns
 * above 10: MaxListenersExceededWarning), and a subscriber that forgets to remove its listener
 * keeps it for the station's life. Here the shared signal carries exactly one listener; each run
 * gets its own child signal, and its entry is dropped when it is released.
 */
export class AbortFanOut {
  private readonly subscribers = new Set<() => void>();

  constructor(private readonly parent: AbortSignal) {
    parent.addEventListener(
      'abort',
      () => {
        const now = [...this.subscribers];
        this.subscribers.clear();
        for (const callback of now) callback();
      },
      { once: true },
    );
  }

  get aborted(): boolean {
    return this.parent.aborted;
  }

  /** Subscribers still waiting (for tests and diagnostics: bounded by what is in flight). */
  get size(): number {
    return this.subscribers.size;
  }

  /** Calls `callback` once when the parent aborts (at once if it already has); returns the unsubscribe. */
  onAbort(callback: () => void): () => void {
    if (this.parent.aborted) {
      callback();
      return () => undefined;
    }
    this.subscribers.add(callback);
    return () => {
      this.subscribers.delete(callback);
    };
  }

  /** A signal of its own that aborts with the parent; call release() when the run that holds it ends. */
  child(): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    const release = this.onAbort(() => controller.abort(this.parent.reason));
    return { signal: controller.signal, release };
  }
}

/** Resolves after `ms`, or as soon as `stop` aborts; leaves no timer and no subscription behind. */
export function sleepUnless(ms: number, stop: AbortFanOut): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe = (): void => undefined;
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    unsubscribe = stop.onAbort(done);
  });
}
