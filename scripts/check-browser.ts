// `npm test` runs this first: without a Chrome/Chromium the unit and e2e
// tests cannot start, and the test runners would say so with a stack trace.
// One line saying where it looked and how to get one is all a newcomer needs.
import { findChromium } from '../chromium.config.js';

const lookup = findChromium();
if (lookup.path === undefined) {
  console.error(lookup.problem);
  process.exit(1);
}
