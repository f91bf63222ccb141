// Placeholder until the panel is built: it mounts an empty section.
import type { Panel } from '../app.js';

export const top9Panel: Panel = { id: 'top9', title: 'Top 9', mount() {} };
