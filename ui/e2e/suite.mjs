// A tiny step runner for the end-to-end scenarios: named steps with timing,
// screenshots on failure, axe scans that fail on serious or critical
// violations, and a summary. Steps of a scenario build on each other, so
// after a failure the rest of that scenario is skipped (not the others).
import AxeBuilder from '@axe-core/playwright';
import { join } from 'node:path';
import { artifactsDir } from './harness.mjs';

export function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function createSuite() {
  const results = [];
  const axeReports = [];
  let scenarioFailed = false;
  const s = {
    /** The page steps act on (scenarios set it). */
    page: undefined,
    results,
    /** begin starts a scenario: steps after a failure in it are skipped. */
    begin(name) {
      scenarioFailed = false;
      console.log(`${name}:`);
    },
    async step(name, fn) {
      const t0 = Date.now();
      if (scenarioFailed) {
        results.push({ name, ok: null });
        console.log(`  skip ${name}`);
        return;
      }
      try {
        await fn();
        results.push({ name, ok: true });
        console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        scenarioFailed = true;
        results.push({ name, ok: false });
        console.log(`  FAIL ${name} (${Date.now() - t0} ms)\n       ${String(e?.stack ?? e).split('\n').slice(0, 6).join('\n       ')}`);
        await s.shot(`FAILED-${name}`).catch(() => {});
      }
    },
    /** fail records a failure outside a step (the harness did not start). */
    fail(name, e) {
      scenarioFailed = true;
      results.push({ name, ok: false });
      console.log(`  FAIL ${name}\n       ${String(e?.stack ?? e).split('\n').slice(0, 6).join('\n       ')}`);
    },
    async shot(name) {
      const file = join(artifactsDir, `${name.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
      await s.page.screenshot({ path: file, fullPage: true });
      return file;
    },
    /** axe scans the page as it is; serious and critical violations fail. */
    async axe(label) {
      const r = await new AxeBuilder({ page: s.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
      const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      axeReports.push({ label, violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
      await s.shot(label);
      if (bad.length) {
        const detail = bad
          .map((v) => `${v.impact} ${v.id}: ${v.help}\n         ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n         ')}`)
          .join('\n       ');
        throw new Error(`${bad.length} serious/critical axe violation(s) on ${label}:\n       ${detail}`);
      }
    },
    /** summary prints the totals and returns the number of failures. */
    summary() {
      const passed = results.filter((r) => r.ok === true).length;
      const failed = results.filter((r) => r.ok === false).length;
      const skipped = results.filter((r) => r.ok === null).length;
      const minor = axeReports.flatMap((r) => r.violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical').map((v) => `${r.label}: ${v.impact} ${v.id}`));
      if (minor.length) console.log(`axe (moderate/minor, not failing):\n  ${minor.join('\n  ')}`);
      console.log(`screenshots: ${artifactsDir}`);
      console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
      return failed;
    },
  };
  return s;
}
