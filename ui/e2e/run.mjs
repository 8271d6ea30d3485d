// End-to-end tests of the dashboard against real odh-servers (local engine,
// real mpirun) in headless Debian Chromium, with axe scans. Each scenario
// starts its own server; a scenario's steps build on each other.
// Usage: ODH_SERVER_BIN=../bin/odh-server npm run e2e   (E2E_ONLY=name,... runs some)
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, ensureArtifacts, launchBrowser } from './harness.mjs';
import { createSuite } from './suite.mjs';
import { mainScenario } from './scenarios/main.mjs';
import { switchUserScenario } from './scenarios/switch-user.mjs';
import { topologyScaleScenario } from './scenarios/topology-scale.mjs';

const scenarios = { main: mainScenario, 'switch-user': switchUserScenario, 'topology-scale': topologyScaleScenario };
const only = process.env.E2E_ONLY?.split(',').filter(Boolean);
for (const n of only ?? []) if (!scenarios[n]) throw new Error(`E2E_ONLY: unknown scenario ${n} (have ${Object.keys(scenarios).join(', ')})`);

const t0 = Date.now();
ensureArtifacts();
for (const f of readdirSync(artifactsDir)) if (f.startsWith('failed-')) rmSync(join(artifactsDir, f));
const suite = createSuite();
const browser = await launchBrowser();
try {
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only && !only.includes(name)) continue;
    try {
      await scenario(suite, browser);
    } catch (e) {
      suite.fail(`${name}: harness`, e);
    }
  }
} finally {
  await browser.close();
}
console.log(`e2e finished in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(suite.summary() ? 1 : 0);
