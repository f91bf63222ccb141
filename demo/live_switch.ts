// Webcam switch of the input panel (live mode: camera -> forward -> projection, drawn on the GPU).
import type { App } from './app.js';

/** Mounts the webcam switch into `container` (the input panel's live slot). */
export function mountLiveSwitch(_app: App, _container: HTMLElement): void {
  // Built by the live-mode work (issue 12); until then the slot stays empty.
}
