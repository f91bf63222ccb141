// The demo page: a DeconvNet workbench. UI only: everything it computes comes from the library.
import { createRuntime } from '../src/index.js';
import { App, type Panel } from './app.js';
import { el, messageOf } from './ui.js';
import { showBuiltInModels } from './models.js';
import { inputPanel } from './panels/input.js';
import { networkPanel } from './panels/network.js';
import { featureMapsPanel } from './panels/feature_maps.js';
import { projectionPanel } from './panels/projection.js';
import { top9Panel } from './panels/top9.js';
import { occlusionPanel } from './panels/occlusion.js';
import { trainingPanel } from './panels/training.js';
import { invariancePanel } from './panels/invariance.js';
import { playgroundPanel } from './panels/playground.js';

/** Tabs, each a group of panels shown together; the input panel stays beside them. */
const TABS: Array<{ id: string; title: string; panels: Panel[] }> = [
  { id: 'explore', title: 'Explore', panels: [networkPanel, featureMapsPanel, projectionPanel] },
  { id: 'top9', title: 'Top 9', panels: [top9Panel] },
  { id: 'occlusion', title: 'Occlusion', panels: [occlusionPanel] },
  { id: 'invariance', title: 'Invariance', panels: [invariancePanel] },
  { id: 'training', title: 'Training', panels: [trainingPanel] },
  { id: 'playground', title: 'Conv2DTranspose', panels: [playgroundPanel] },
];

const status = document.getElementById('status')!;

/** Errors the GPU reported outside any error scope; the e2e tests read them. */
const gpuErrors: string[] = [];
(window as unknown as { __gpuErrors: string[] }).__gpuErrors = gpuErrors;

async function main() {
  if (!navigator.gpu) {
    status.innerHTML = 'WebGPU is not available in this browser. Use Chrome or Edge 113 or later on a machine with a supported GPU '
      + '(on Linux, start Chrome with <code>--enable-unsafe-webgpu --enable-features=Vulkan</code>, or enable '
      + '<code>chrome://flags/#enable-unsafe-webgpu</code>). Safari 26 and Firefox 141 on Windows also have WebGPU.';
    status.className = 'error';
    return;
  }
  // Kernel choices measured by "Tune" persist in localStorage under the adapter's name.
  const runtime = await createRuntime({ tuningCache: true });
  runtime.device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
  const app = new App(runtime);

  const side = document.getElementById('side')!;
  const tabBar = document.getElementById('tabs')!;
  const tabArea = document.getElementById('tab-area')!;
  mountPanel(app, inputPanel, side);
  for (const tab of TABS) {
    const page = el('div', { class: 'tab', id: `tab-${tab.id}`, 'data-testid': `tab-${tab.id}`, hidden: tab !== TABS[0] });
    for (const panel of tab.panels) mountPanel(app, panel, page);
    const button = el('button', { type: 'button', role: 'tab', 'data-testid': `tab-button-${tab.id}`, 'aria-selected': String(tab === TABS[0]) }, tab.title);
    button.addEventListener('click', () => showTab(tab.id));
    tabBar.append(button);
    tabArea.append(page);
  }

  await showBuiltInModels(app);
  const info = runtime.device.adapterInfo;
  status.textContent = `WebGPU ready on ${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'this adapter'}.`;
  document.getElementById('app')!.hidden = false;
  document.body.dataset.ready = 'true';
}

function mountPanel(app: App, panel: Panel, parent: HTMLElement) {
  const root = el('section', { class: 'panel', id: `panel-${panel.id}`, 'data-testid': `panel-${panel.id}` }, el('h2', {}, panel.title));
  parent.append(root);
  panel.mount(app, root);
}

/** Shows one tab (also reachable as #tab-<id> in the URL). */
function showTab(id: string) {
  for (const page of document.querySelectorAll<HTMLElement>('#tab-area > .tab')) page.hidden = page.id !== `tab-${id}`;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#tabs > button')) {
    button.setAttribute('aria-selected', String(button.dataset.testid === `tab-button-${id}`));
  }
  document.body.dataset.tab = id;
  window.dispatchEvent(new CustomEvent('tabshown', { detail: id }));
}

main().catch((e: unknown) => {
  status.textContent = `Error: ${messageOf(e)}`;
  status.className = 'error';
  console.error(e);
});
