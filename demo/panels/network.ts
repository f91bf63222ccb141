// Network: the whole net at a glance for the current image, as CNN Explainer
// draws it: one column per node with its name, kind, output shape and
// parameter count, a few of its feature maps as thumbnails (a flat node: its
// values as bars). A click on a column opens that layer in Feature maps; a
// click on a bar projects that unit. Only the values drawn are read back.
import { layerOverview, parameterCounts, type FeatureMaps } from '../../src/index.js';
import type { App, Panel } from '../app.js';
import { el, paint, cropPicture, latestOnly, whileShown, messageOf, bump } from '../ui.js';

/** Feature maps shown per layer, and values per flat layer (more are summarised as "+N"). */
const CHANNELS = 10;
const UNITS = 160;
const THUMB_PX = 36;
const BARS_PX = { width: 48, height: 160 };

export const networkPanel: Panel = {
  id: 'network',
  title: 'Network',
  mount(app, root) {
    const strip = el('div', { class: 'network-strip', 'data-testid': 'network' });
    const note = el('p', { class: 'note', 'data-testid': 'network-note' });
    const error = el('p', { class: 'error' });
    root.append(note, strip, error);
    const latest = latestOnly();
    let params: number[] = [];

    const render = whileShown(root, () => latest(async (isStale) => {
      const { fwd, image } = app;
      if (!fwd || !image) return;
      const overview = await layerOverview(fwd, { channels: CHANNELS, units: UNITS });
      if (isStale()) return;
      const feature = new Set(app.featureLayers());
      strip.replaceChildren(inputColumn(image.rgba), ...overview.map((maps, i) => layerColumn(app, maps, params[i] ?? 0, feature.has(maps.name))));
      markCurrent();
      error.textContent = '';
      bump('network');
    }).catch((e: unknown) => { error.textContent = messageOf(e); }));

    function markCurrent() {
      for (const column of strip.querySelectorAll<HTMLElement>('.layer')) column.classList.toggle('current', column.dataset.layer === app.layer);
    }

    app.on('model', () => {
      params = parameterCounts(app.net.model);
      const total = params.reduce((a, b) => a + b, 0);
      note.textContent = `${app.net.model.info.length} nodes, ${total.toLocaleString('en')} parameters. `
        + 'Click a layer to open its feature maps below, or a bar of a flat layer to project that unit.';
      strip.replaceChildren();
    });
    app.on('forward', render);
    app.on('layer', markCurrent);
  },
};

function inputColumn(rgba: ImageData): HTMLElement {
  const canvas = el('canvas', { class: 'thumb' });
  paint(canvas, rgba);
  canvas.style.width = canvas.style.height = `${THUMB_PX * 1.5}px`;
  return el('div', { class: 'layer input' }, header('input', 'image', `${rgba.width}x${rgba.height}`, null), canvas);
}

function header(name: string, kind: string, shape: string, params: number | null): HTMLElement {
  return el('div', { class: 'layer-head' },
    el('strong', { class: 'layer-name' }, name), el('span', {}, kind), el('span', { 'data-testid': 'layer-shape-small' }, shape),
    params === null ? '' : el('span', { 'data-testid': 'layer-params' }, `${params.toLocaleString('en')} params`));
}

/** One node: header, then thumbnails of its first maps (or bars of its first values). */
function layerColumn(app: App, maps: FeatureMaps, params: number, openable: boolean): HTMLElement {
  const column = el('div', { class: `layer${openable ? ' openable' : ''}`, 'data-testid': 'network-layer', 'data-layer': maps.name, title: openable ? `Open ${maps.name} in Feature maps` : maps.name },
    header(maps.name, maps.kind, maps.shape.join('x'), params));
  if (maps.shape.length === 3) {
    for (const tile of maps.grid.tiles) {
      const canvas = el('canvas', { class: 'thumb', 'data-testid': 'network-thumb', 'data-channel': tile.channel });
      paint(canvas, cropPicture(maps.grid.image, tile.x, tile.y, tile.width, tile.height));
      canvas.style.width = canvas.style.height = `${THUMB_PX}px`;
      column.append(canvas);
    }
    const more = maps.shape[0]! - maps.grid.tiles.length;
    if (more > 0) column.append(el('span', { class: 'note' }, `+${more} more`));
  } else {
    column.append(bars(app, maps));
    const total = maps.shape.reduce((a, b) => a * b, 1);
    if (total > maps.data.length) column.append(el('span', { class: 'note' }, `${maps.data.length} of ${total}`));
  }
  if (openable) column.addEventListener('click', () => { if (app.layer !== maps.name) void app.setLayer(maps.name); });
  return column;
}

/** A flat layer's values as horizontal bars (positive right, negative left of the centre line); a click projects that unit. */
function bars(app: App, maps: FeatureMaps): HTMLCanvasElement {
  const values = maps.data;
  const rowPx = Math.max(1, Math.floor(BARS_PX.height / values.length));
  const canvas = el('canvas', { class: 'bars', 'data-testid': 'network-bars', width: BARS_PX.width, height: rowPx * values.length });
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let largest = 0;
  for (const v of values) largest = Math.max(largest, Math.abs(v));
  const hasNegative = values.some((v) => v < 0);
  const zero = hasNegative ? canvas.width / 2 : 0;
  const span = canvas.width - zero;
  values.forEach((v, i) => {
    const length = largest > 0 ? (Math.abs(v) / largest) * span : 0;
    ctx.fillStyle = v >= 0 ? '#2e7d32' : '#c62828';
    ctx.fillRect(v >= 0 ? zero : zero - length, i * rowPx, length, Math.max(1, rowPx - (rowPx > 2 ? 1 : 0)));
  });
  canvas.addEventListener('click', (event) => {
    event.stopPropagation();
    const rect = canvas.getBoundingClientRect();
    const unit = Math.min(values.length - 1, Math.floor(((event.clientY - rect.top) / rect.height) * values.length));
    void app.select({ layer: maps.name, channel: unit });
  });
  canvas.title = 'Click a bar to project that unit';
  return canvas;
}
