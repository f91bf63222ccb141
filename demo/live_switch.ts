// Webcam switch of the input panel: live mode (camera -> forward ->
// projection of the chosen unit, drawn on the GPU every frame) through the
// library's startLive. UI only: the frames, the pictures and the frame rate
// all come from src/io/live.ts.
import { closeCamera, openCamera, startLive, type LiveView, type LiveUnit } from '../src/index.js';
import type { App } from './app.js';
import { el } from './ui.js';

/** On-screen size of the live pictures (CSS pixels, scaled with crisp pixels). */
const SHOWN = 128;

/** Mounts the webcam switch into `container` (the input panel's live slot). */
export function mountLiveSwitch(app: App, container: HTMLElement): void {
  const toggle = el('input', { type: 'checkbox', 'data-testid': 'live-toggle' });
  const fps = el('span', { class: 'note', 'data-testid': 'live-fps' });
  const status = el('p', { class: 'error', 'data-testid': 'live-status' });
  const pictures = el('div', { class: 'row live-pictures' });
  container.append(el('label', {}, toggle, ' Webcam '), fps, status, pictures);

  let live: LiveView | null = null;
  let starting = false;

  const unit = (): LiveUnit => ({
    layer: app.selection?.layer ?? app.layer,
    channel: app.selection?.channel ?? 0,
    mode: app.mode === 'all' ? 'deconvnet' : app.mode,
  });

  function stop(message = ''): void {
    live?.stop();
    live = null;
    toggle.checked = false;
    fps.textContent = '';
    status.textContent = message;
    pictures.replaceChildren();
  }

  async function start(): Promise<void> {
    const [channels] = app.net.model.inputShape;
    if (app.net.model.inputShape.length !== 3 || (channels !== 1 && channels !== 3) || !app.layer) {
      stop(`${app.net.title} does not take pictures, so the webcam cannot feed it.`);
      return;
    }
    starting = true;
    status.textContent = 'Opening the camera...';
    try {
      const video = await openCamera({ width: 320, height: 240 });
      if (!toggle.checked) { closeCamera(video); return; } // switched off while the camera opened
      // Fresh canvases each time: a canvas keeps the kind of context it first got.
      const canvas = (testId: string, title: string) => el('canvas', { 'data-testid': testId, title, class: 'live-canvas' });
      const targets = { input: canvas('live-input', 'What the model sees'), grid: canvas('live-grid', 'Feature maps'), projection: canvas('live-projection', 'Projection') };
      pictures.replaceChildren(targets.input, targets.grid, targets.projection);
      for (const c of Object.values(targets)) { c.style.width = `${SHOWN}px`; c.style.imageRendering = 'pixelated'; }
      live = startLive({
        model: app.net.model, deconv: app.net.deconv, preprocessing: app.net.preprocessing,
        source: video, ownsSource: true, unit: unit(), targets, present: presentation(app),
        onFrame: (f) => { fps.textContent = `${f.fps.toFixed(1)} frames/s`; fps.dataset.frames = String(f.frames); },
        onError: (e) => stop(`Live mode stopped: ${e.message}`),
      });
      status.textContent = '';
    } catch (e) {
      stop(`Webcam unavailable: ${(e as Error).message}`);
    } finally {
      starting = false;
    }
  }

  toggle.addEventListener('change', () => {
    if (toggle.checked && !live && !starting) void start();
    else if (!toggle.checked) stop();
  });
  const follow = () => {
    if (!live) return;
    try {
      live.setUnit(unit(), app.layer);
    } catch (e) {
      stop(`Live mode stopped: ${(e as Error).message}`);
    }
  };
  app.on('selection', follow);
  app.on('layer', follow);
  app.on('mode', follow);
  app.on('model', () => { if (live) stop('The model changed: switch the webcam on again.'); });
}

/**
 * WebGPU canvases where they can be shown; on a CPU adapter (SwiftShader, as
 * in the headless test browser, where presenting a WebGPU canvas loses the
 * device) each picture is copied to a 2-D canvas instead. `?present=webgpu`
 * or `?present=readback` overrides.
 */
function presentation(app: App): 'webgpu' | 'readback' {
  const asked = new URLSearchParams(location.search).get('present');
  if (asked === 'webgpu' || asked === 'readback') return asked;
  return app.runtime.kernelStyle === 'direct' ? 'readback' : 'webgpu';
}
