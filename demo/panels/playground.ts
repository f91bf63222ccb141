// Placeholder until the panel is built: it mounts an empty section.
import type { Panel } from '../app.js';

export const playgroundPanel: Panel = { id: 'playground', title: 'Conv2DTranspose playground', mount() {} };
