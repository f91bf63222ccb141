// The models built into the page. Placeholder until the input work lands.
import type { App } from './app.js';

export async function showBuiltInModels(_app: App): Promise<void> {}
