// Feature maps: every channel of the chosen layer for the current image, each
// labelled with its number and its strongest activation. A click on a map
// projects that channel: its strongest activation, or the very unit clicked.
import { featureMaps, type FeatureMaps } from '../../src/index.js';
import type { App, Panel } from '../app.js';
import { el, paint, cropPicture, latestOnly, whileShown, savePngButton, messageOf, bump } from '../ui.js';

/** Tiles are shown about this many CSS pixels wide, whatever the map size. */
const TILE_PX = 96;

export const featureMapsPanel: Panel = {
  id: 'feature_maps',
  title: 'Feature maps',
  mount(app, root) {
    const select = el('select', { 'data-testid': 'layer-select', 'aria-label': 'Layer' });
    const strongest = el('input', { type: 'radio', name: 'click-picks', value: 'max', checked: true, 'data-testid': 'click-max' });
    const unit = el('input', { type: 'radio', name: 'click-picks', value: 'unit', 'data-testid': 'click-unit' });
    const shape = el('p', { class: 'note', 'data-testid': 'layer-shape' });
    const grid = el('div', { class: 'map-grid', 'data-testid': 'feature-grid' });
    const error = el('p', { class: 'error' });
    let maps: FeatureMaps | null = null;
    const latest = latestOnly();

    const gridCanvas = () => {
      const canvas = el('canvas');
      if (maps) paint(canvas, maps.grid.image, 2);
      return canvas;
    };
    root.append(
      el('div', { class: 'row' }, el('label', {}, 'Layer ', select),
        el('span', { class: 'note' }, 'A click on a map projects ', el('label', {}, strongest, ' its strongest activation'), el('label', {}, unit, ' the unit clicked')),
        savePngButton(gridCanvas, 'feature-maps.png', 'save-feature-maps')),
      shape, grid, error,
    );

    function fillLayers() {
      select.replaceChildren(...app.featureLayers().map((name) => {
        const info = app.net.model.info[app.net.model.layerIndex(name)]!;
        return new Option(`${name} (${info.kind}) ${info.outputShape.join('x')}`, name);
      }));
      select.value = app.layer;
    }

    const render = whileShown(root, () => latest(async (isStale) => {
      const fwd = app.fwd;
      if (!fwd || !app.layer) return;
      const layer = app.layer;
      const result = await featureMaps(fwd, layer);
      if (isStale()) return;
      maps = result;
      shape.textContent = `${layer}: ${result.shape.join(' x ')} (channels x height x width); each map scaled to its own range`;
      grid.replaceChildren(...result.grid.tiles.map((tile) => tileFigure(app, result, tile, layer, () => unit.checked)));
      markSelection();
      error.textContent = '';
      bump('feature-maps');
    }).catch((e: unknown) => { error.textContent = messageOf(e); }));

    function markSelection() {
      const s = app.selection;
      for (const figure of grid.querySelectorAll<HTMLElement>('figure')) {
        figure.classList.toggle('selected', s !== null && s.layer === app.layer && Number(figure.dataset.channel) === s.channel);
      }
    }

    select.addEventListener('change', () => void app.setLayer(select.value));
    app.on('model', () => { fillLayers(); grid.replaceChildren(); maps = null; });
    app.on('layer', () => { select.value = app.layer; void render(); });
    app.on('forward', render);
    app.on('selection', markSelection);
  },
};

/** One channel: its map (click: project) and a caption with its number and strongest activation. */
function tileFigure(app: App, maps: FeatureMaps, tile: FeatureMaps['grid']['tiles'][number], layer: string, pickUnit: () => boolean): HTMLElement {
  const canvas = el('canvas', { 'data-testid': 'feature-map', 'data-channel': tile.channel, title: `channel ${tile.channel}` });
  paint(canvas, cropPicture(maps.grid.image, tile.x, tile.y, tile.width, tile.height));
  const scale = TILE_PX / Math.max(tile.width, tile.height);
  canvas.style.width = `${Math.round(tile.width * scale)}px`;
  canvas.style.height = `${Math.round(tile.height * scale)}px`;
  const peak = maps.strongest[tile.channel]!;
  canvas.addEventListener('click', (event) => {
    if (!pickUnit()) { void app.select({ layer, channel: tile.channel }); return; }
    const rect = canvas.getBoundingClientRect();
    const x = Math.min(tile.width - 1, Math.floor(((event.clientX - rect.left) / rect.width) * tile.width));
    const y = Math.min(tile.height - 1, Math.floor(((event.clientY - rect.top) / rect.height) * tile.height));
    void app.select({ layer, channel: tile.channel, position: { y, x } });
  });
  return el('figure', { class: 'map', 'data-channel': tile.channel },
    canvas, el('figcaption', {}, `#${tile.channel} `, el('span', { class: 'peak', title: `strongest at (${peak.y}, ${peak.x})` }, formatValue(peak.value))));
}

function formatValue(v: number): string {
  return Math.abs(v) >= 100 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : v.toFixed(2);
}
