// Placeholder until the panel is built: it mounts an empty section.
import type { Panel } from '../app.js';

export const inputPanel: Panel = { id: 'input', title: 'Image', mount() {} };
