// Placeholder until the panel is built: it mounts an empty section.
import type { Panel } from '../app.js';

export const featureMapsPanel: Panel = { id: 'feature_maps', title: 'Feature maps', mount() {} };
