// The detail page of a 1,000-worker job (issue 15): the worker map groups
// and counts instead of drawing 1,000 boxes, filters by index, state and
// node, moves by keyboard, pages the worker table, shows readable totals,
// and passes axe at that size. The local engine cannot run 1,000 ranks on
// one machine, so the job is created suspended: every worker is listed
// (Pending, no node yet) exactly as the page gets it from the server.
import { join } from 'node:path';
import { artifactsDir, startServer } from '../harness.mjs';
import { expect } from '../suite.mjs';

export async function topologyScaleScenario(s, browser) {
  s.begin('a 1,000-worker job on the detail page');
  const server = await startServer({ extraArgs: ['--slots=1000'] });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  s.page = page;
  page.setDefaultTimeout(20_000);
  try {
    await s.step('open the job: grouped, counted, readable totals', async () => {
      await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
        job: {
          metadata: { name: 'e2e-wide' },
          spec: { command: ['true'], workers: { replicas: 1000, resources: { cpu: '2500m', memory: '20000Mi' } }, runPolicy: { suspend: true } },
        },
      });
      await page.goto(`${server.url}/jobs/default/e2e-wide?token=${encodeURIComponent(server.token)}`);
      await page.getByTestId('topology-summary').filter({ hasText: '1,000 workers: 1,000 Pending' }).waitFor();
      expect((await page.locator('.odh-wgrid').count()) === 1, 'one state group expected');
      expect((await page.locator('.odh-wgrid [role="gridcell"]').count()) === 1000, 'not every worker is on the map');
      // One Tab stop for the whole group, not 1,000.
      expect((await page.locator('.odh-wgrid [tabindex="0"]').count()) === 1, 'more than one Tab stop in the grid');
      const total = await page.getByTestId('requested-total').textContent();
      expect(total.includes('19.1Ti memory') && total.includes('2,500 CPU') && total.includes('1,000 ranks'), `totals: ${total}`);
      // The table shows a page, not 1,000 rows.
      expect((await page.getByTestId('worker-table').locator('tbody tr').count()) === 21, 'the worker table is not paged');
      await s.axe('detail-1000-workers');
      await page.getByTestId('topology').screenshot({ path: join(artifactsDir, 'detail-1000-workers-map.png') });
    });

    await s.step('filter by index range and node; the table follows', async () => {
      await page.getByRole('textbox', { name: 'Filter workers' }).fill('100-109');
      await page.getByTestId('topology-filter-help').filter({ hasText: '10 of 1,000 workers match.' }).waitFor();
      expect((await page.locator('.odh-wgrid [role="gridcell"]').count()) === 10, 'the filter did not narrow the map');
      await page.getByTestId('worker-table-filtered').filter({ hasText: '10 of 1,000 workers match the filter.' }).waitFor();
      expect((await page.getByTestId('worker-table').locator('tbody tr').count()) === 11, 'the table does not follow the filter');
      await page.getByRole('button', { name: 'By node' }).click();
      await page.getByTestId('group-(no node yet)').filter({ hasText: '10 workers' }).waitFor();
      await s.axe('detail-1000-workers-filtered');
    });

    await s.step('keyboard: into the grid, arrows, Enter opens the logs', async () => {
      // Launcher, the group's "Show only this node", then the group's grid: one stop for its workers.
      await page.getByTestId('topology-launcher').focus();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
      expect(first === 'topology-worker-100', `Tab lands on ${first}`);
      await page.keyboard.press('ArrowRight');
      await page.getByTestId('topology-details').filter({ hasText: 'worker-101: Pending' }).waitFor();
      await page.keyboard.press('Enter');
      await page.waitForURL(/tab=logs&source=worker-101/);
    });

    await s.step('zoom and dark theme at 1,000 workers', async () => {
      await page.getByRole('tab', { name: 'Overview' }).click();
      await page.getByRole('textbox', { name: 'Filter workers' }).waitFor();
      const size = () => page.getByTestId('topology-worker-0').evaluate((e) => e.getBoundingClientRect().width);
      const before = await size();
      await page.getByRole('button', { name: 'Zoom in' }).click();
      await page.waitForFunction((b) => document.querySelector('[data-testid="topology-worker-0"]').getBoundingClientRect().width > b, before);
      // axe over 1,000 cells takes a minute on a loaded 2-core machine; the
      // full map was scanned above, the themes are scanned on a slice of it.
      await page.getByRole('textbox', { name: 'Filter workers' }).fill('0-99');
      await page.getByTestId('topology-filter-help').filter({ hasText: '100 of 1,000' }).waitFor();
      await page.getByText('Dark theme').click();
      await s.axe('detail-1000-workers-dark');
      await page.getByText('High contrast').click();
      await s.axe('detail-1000-workers-dark-high-contrast');
      await page.getByTestId('topology').screenshot({ path: join(artifactsDir, 'detail-1000-workers-map-dark.png') });
      await page.getByText('Dark theme').click();
      await page.getByText('High contrast').click();
    });
  } finally {
    await context.close();
    await server.stop();
  }
}
