// Progress reporting and cancellation shared by the long-running work (analyses, dataset reading, training).

export interface Progress {
  /** Work units done so far (images, positions, transforms ...). */
  done: number;
  total: number;
  /** What is being done, e.g. 'forward', 'project'. */
  stage: string;
}

export interface RunOptions {
  /** Called at least once a second while work runs, and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Aborting rejects the run with a DOMException named 'AbortError' after freeing its GPU buffers. */
  signal?: AbortSignal;
}

/** Throws the standard AbortError if `signal` was aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof DOMException && reason.name === 'AbortError') throw reason;
    throw new DOMException(typeof reason === 'string' ? reason : 'The analysis was aborted', 'AbortError');
  }
}

/**
 * Rate-limits progress callbacks: call `report` after every unit of work (a
 * batch); the callback fires when 250 ms have passed since the last one, and
 * always for the final unit, so a run never goes a second without news as
 * long as one batch takes under a second.
 */
export function makeProgress(options: RunOptions, total: number, stage: string) {
  let last = 0;
  let done = 0;
  return {
    report(units: number, stageNow = stage): void {
      done += units;
      const now = typeof performance !== 'undefined' ? performance.now() : Date.now();
      if (options.onProgress && (now - last >= 250 || done >= total)) {
        last = now;
        options.onProgress({ done, total, stage: stageNow });
      }
    },
    get done() { return done; },
  };
}
