// Pieces the analysis panels (Top 9, Occlusion, Invariance) share: the class
// chooser and the way a long run is started, timed, cancelled and reported.
import type { App } from '../app.js';
import { el, progressControl, messageOf, bump } from '../ui.js';

/** A class chooser: "true class (koala)" or "top class" by default, then every class of the model. */
export function classChooser(app: App, testId: string) {
  const select = el('select', { 'data-testid': testId, 'aria-label': 'Class' });
  return {
    select,
    /** Rebuilds the list for the model and image on show, keeping the choice where it still exists. */
    refresh() {
      const label = app.image?.label;
      const auto = label !== undefined ? `true class (${app.className(label)})` : 'top class';
      const classes = app.net.model.outputShape[0] ?? 0;
      const chosen = select.value;
      select.replaceChildren(new Option(auto, 'auto'), ...Array.from({ length: classes }, (_, i) => new Option(app.className(i), String(i))));
      if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
    },
    /** The chosen class; for "auto" the image's true class, or undefined (the library then takes the top class). */
    chosen(): number | undefined {
      return select.value === 'auto' ? app.image?.label : Number(select.value);
    },
  };
}

/**
 * Runs `work` under a progress control with `button` disabled: the status
 * says "Done in N s: <what work returned>", "Cancelled." when the run was
 * aborted (its Cancel button or `stop`), or the error. Counts data-<counter>.
 */
export async function runWithProgress(
  progress: ReturnType<typeof progressControl>, button: HTMLButtonElement, stop: AbortSignal, counter: string,
  work: (signal: AbortSignal) => Promise<string>,
): Promise<void> {
  const signal = AbortSignal.any([progress.start(), stop]);
  const started = performance.now();
  button.disabled = true;
  try {
    const done = await work(signal);
    progress.finish(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${done}`);
  } catch (e) {
    const cancelled = e instanceof DOMException && e.name === 'AbortError';
    progress.finish(cancelled ? 'Cancelled.' : `Error: ${messageOf(e)}`);
  } finally {
    button.disabled = false;
    bump(counter);
  }
}
