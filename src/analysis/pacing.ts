// Long analyses (occlusion, invariance, the top-k dataset pass) submit batch
// after batch and read nothing back until the end. A WebGPU submit returns at
// once, so unpaced, a whole run is queued in moments: progress then counts
// work queued rather than done, and an abort arrives when everything is
// already queued and stops nothing. A pacer keeps the GPU fed (the next batch
// is recorded while the previous ones run) but at most `depth` batches ahead.

/** Waits after each batch until no more than `depth` batches are unfinished on `device`. */
export function gpuPacer(device: GPUDevice, depth = 2) {
  const unfinished: Array<Promise<void>> = [];
  return {
    /** Call once a batch's work is submitted. */
    async submitted(): Promise<void> {
      unfinished.push(device.queue.onSubmittedWorkDone());
      while (unfinished.length > depth) await unfinished.shift();
    },
  };
}
