// Placeholder until the panel is built: it mounts an empty section.
import type { Panel } from '../app.js';

export const networkPanel: Panel = { id: 'network', title: 'Network', mount() {} };
