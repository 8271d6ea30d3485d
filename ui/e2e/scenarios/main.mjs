// The main end-to-end scenario of the dashboard against a real odh-server
// (local engine, real mpirun) in headless Chromium, with an axe scan of
// every page. Run by e2e/run.mjs.
import { expect } from '../suite.mjs';
import { startServer } from '../harness.mjs';
import { yamlEditorSteps } from './yaml-editor.mjs';

const HELLO = `sh -c 'echo hello from rank $OMPI_COMM_WORLD_RANK; sleep 2'`;

const bind = (s) => ({ step: s.step.bind(s), axe: s.axe.bind(s), shot: s.shot.bind(s) });

/** mainScenario: one user's whole day on a real server — create, watch, logs, clone, compare, templates, delete. */
export async function mainScenario(s, browser) {
  s.begin('main scenario');
  const server = await startServer();
  try {
    await run(s, browser, server);
  } finally {
    await server.stop();
  }
}

async function run(s, browser, server) {
  const { step, axe, shot } = bind(s);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  s.page = page;
  const heading = () => page.locator('h1').first();
  const nameField = () => page.getByRole('textbox', { name: 'Name', exact: true });
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(15_000);

  console.log(`odh-server ${server.url} (state ${server.stateDir})`);

  await step('login page when no token is stored, then log in with the token', async () => {
    await page.goto(server.url + '/');
    await page.getByLabel('Access token').waitFor();
    await axe('login');
    await page.getByLabel('Access token').fill(server.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading().filter({ hasText: 'Training jobs' }).waitFor();
  });

  await step('token from the URL is stored and removed from the address bar', async () => {
    await context.clearCookies();
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${server.url}/?token=${encodeURIComponent(server.token)}`);
    await heading().filter({ hasText: 'Training jobs' }).waitFor();
    expect(!page.url().includes('token='), `token still in URL: ${page.url()}`);
    await page.getByText('No training jobs yet').waitFor();
    await axe('list-empty');
  });

  await step('create form: inline validation from the server dry run', async () => {
    await page.getByRole('button', { name: 'Create job' }).first().click();
    await heading().filter({ hasText: 'Create training job' }).waitFor();
    await nameField().fill('Bad_Name');
    await page.getByText(/must be a lowercase DNS-1035 label/).waitFor();
    expect((await nameField().getAttribute('aria-invalid')) === 'true', 'name not marked invalid');
    await nameField().fill('e2e-hello');
    await page.getByText(/must be a lowercase DNS-1035 label/).waitFor({ state: 'detached' });
    await page.getByLabel(/^Command/).fill(HELLO);
    await page.getByLabel(/Number of workers/).fill('2');
    await page.getByLabel(/CPU per worker/).fill('');
    await page.getByLabel(/Memory per worker/).fill('');
    const summary = await page.getByTestId('calc-summary').textContent();
    expect(summary.includes('2 MPI ranks'), `calculator says ${summary}`);
    await page.getByTestId('calc-row-slots').getByText(/of 4|of \d+/).waitFor();
    await page.getByRole('button', { name: 'Show advanced options' }).click();
    await page.getByRole('textbox', { name: 'Labels' }).fill('suite=e2e');
    await axe('create-form');
  });

  await yamlEditorSteps({ step, axe, page, nameField });

  await step('save as template', async () => {
    await page.getByRole('button', { name: 'Save as template' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Description').fill('hello world, 2 ranks');
    await axe('save-template-dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved template e2e-hello-template.').waitFor();
  });

  await step('create the job and see it reach Succeeded in the list without a reload', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/jobs\/default\/e2e-hello$/);
    await heading().filter({ hasText: 'e2e-hello' }).waitFor();
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await heading().filter({ hasText: 'Training jobs' }).waitFor();
    await page.evaluate(() => (window.__noReload = true));
    const row = page.getByTestId('job-row-e2e-hello');
    await row.waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="job-row-e2e-hello"]')?.getAttribute('data-phase') === 'Succeeded',
      null,
      { timeout: 60_000 },
    );
    expect(await page.evaluate(() => window.__noReload === true), 'the page was reloaded');
    expect((await row.textContent()).includes('Succeeded'), 'status label missing');
    expect((await row.textContent()).includes('2/2 succeeded'), `workers column: ${await row.textContent()}`);
    await axe('list-succeeded');
  });

  await step('detail page: topology, worker table, history, events', async () => {
    await page.getByRole('link', { name: 'e2e-hello', exact: true }).click();
    await page.getByTestId('topology-worker-1').waitFor();
    const state = await page.getByTestId('topology-worker-1').getAttribute('data-state');
    expect(state === 'Succeeded', `worker-1 state ${state}`);
    await page.getByTestId('topology-worker-1').hover();
    await page.getByTestId('topology-details').filter({ hasText: 'worker-1: Succeeded' }).waitFor();
    await axe('detail-overview');
    await page.getByRole('tab', { name: 'Status history' }).click();
    await page.getByTestId('history-table').getByText('Succeeded').first().waitFor();
    await axe('detail-history');
    await page.getByRole('tab', { name: 'Events' }).click();
    await page.getByTestId('events-table').or(page.getByText('No events recorded.')).first().waitFor();
    await axe('detail-events');
    await page.getByRole('tab', { name: 'YAML' }).click();
    await page.getByText('kind: MPIJob').waitFor();
  });

  await step("open worker 1's logs", async () => {
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByTestId('topology-worker-1').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/tab=logs&source=worker-1/);
    await page.getByText('hello from rank 1').first().waitFor();
    const text = await page.getByTestId('log-panel').textContent();
    expect(!text.includes('hello from rank 0'), 'worker 1 logs contain rank 0 output');
    await axe('detail-logs-worker-1');
    await page.getByLabel('Log source').selectOption('all');
    await page.getByText(/\[worker-0\].*hello from rank 0/).first().waitFor();
    await page.getByPlaceholder('Search logs').fill('rank 0');
    await page.locator('.pf-v6-c-log-viewer__string.pf-m-current', { hasText: 'rank 0' }).waitFor();
    await shot('detail-logs-all-search');
  });

  await step('clone and modify', async () => {
    await page.getByRole('button', { name: 'Clone and modify' }).click();
    await heading().filter({ hasText: 'Clone and modify e2e-hello' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#field-name')?.value === 'e2e-hello-2');
    expect((await page.getByLabel(/^Command/).inputValue()).includes('hello from rank'), 'command not cloned');
    await page.getByLabel(/Number of workers/).fill('1');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/jobs\/default\/e2e-hello-2$/);
    await heading().filter({ hasText: 'e2e-hello-2' }).waitFor();
  });

  await step('compare the job with its clone', async () => {
    await page.goto(`${server.url}/compare?a=${encodeURIComponent('default/e2e-hello')}&b=${encodeURIComponent('default/e2e-hello-2')}`);
    await page.getByTestId('diff-summary').filter({ hasText: /differ/ }).waitFor();
    await page.locator('.odh-diff-del', { hasText: 'replicas: 2' }).waitFor();
    await page.locator('.odh-diff-add', { hasText: 'replicas: 1' }).waitFor();
    await axe('compare');
  });

  await step('a failed job shows its reason with troubleshooting hints', async () => {
    await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
      job: { metadata: { name: 'e2e-broken' }, spec: { command: ['definitely-not-a-program-e2e'], workers: { replicas: 2 } } },
    });
    await page.goto(`${server.url}/jobs/default/e2e-broken`);
    await page.getByTestId('detail-phase').filter({ hasText: 'Failed' }).waitFor({ timeout: 60_000 });
    const summary = page.getByTestId('error-summary');
    await summary.waitFor();
    const text = await summary.textContent();
    expect(/ExecutableNotFound|RankFailed|LauncherFailed|WorkerFailed/.test(text), `summary: ${text}`);
    expect(text.includes('What to try'), `no hints in: ${text}`);
    await axe('detail-failed');
  });

  await step('suspend and resume', async () => {
    await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
      job: { metadata: { name: 'e2e-sleepy' }, spec: { command: ['sleep', '60'], workers: { replicas: 1 }, runPolicy: { suspend: true } } },
    });
    await page.goto(`${server.url}/jobs/default/e2e-sleepy`);
    await page.getByTestId('detail-phase').filter({ hasText: 'Suspended' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('detail-phase').filter({ hasText: /Pending|Starting|Running/ }).waitFor();
    await page.getByTestId('detail-phase').filter({ hasText: 'Running' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByTestId('detail-phase').filter({ hasText: 'Suspended' }).waitFor({ timeout: 30_000 });
  });

  await step('resource charts: CPU and memory per replica of a running job', async () => {
    // Two ranks that keep a core busy for 8 s: the local engine samples
    // /proc every 2 s, the page asks as often while the job runs.
    await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
      job: {
        metadata: { name: 'e2e-burn' },
        spec: { command: ['bash', '-c', 'while [ $SECONDS -lt 8 ]; do :; done'], workers: { replicas: 2 } },
      },
    });
    await page.goto(`${server.url}/jobs/default/e2e-burn`);
    const cpu = page.getByTestId('chart-cpu');
    for (const r of ['worker-0', 'worker-1']) {
      await cpu.getByTestId(`series-cpu-${r}`).waitFor({ state: 'attached', timeout: 15_000 });
      await page.getByTestId('legend-cpu').getByText(r, { exact: true }).waitFor();
      await page.getByTestId(`series-memory-${r}`).waitFor({ state: 'attached' });
    }
    // Busy ranks show up as CPU use, not just as a line at zero. The bar is
    // low on purpose: on a shared 2-core machine at load 20 a busy rank gets
    // about a tenth of a core; an idle one reads 0.
    await page.waitForFunction(
      () =>
        ['worker-0', 'worker-1'].every(
          (r) => Number(document.querySelector(`[data-testid="table-cpu"] tr[data-replica="${r}"]`)?.getAttribute('data-peak')) > 0.03,
        ),
      null,
      { timeout: 15_000 },
    );
    const label = await page.getByTestId('chart-cpu-svg').getAttribute('aria-label');
    expect(/^CPU cores per replica .*worker-0 latest [\d.]+, worker-1 latest [\d.]+/.test(label), `CPU chart label: ${label}`);
    await axe('detail-resource-charts');
    await page.getByText('Dark theme').click();
    await shot('detail-resource-charts-dark');
    await page.getByText('Dark theme').click();
  });

  await step('templates page and start from a template', async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByTestId('templates-table').getByText('e2e-hello-template').waitFor();
    await axe('templates');
    await page.getByRole('button', { name: 'Use' }).first().click();
    await page.waitForFunction(() => document.querySelector('#field-name')?.value === 'e2e-hello');
  });

  await step('decision guide', async () => {
    await page.getByRole('link', { name: 'Choosing a job type', exact: true }).click();
    await heading().filter({ hasText: 'Choosing a job type' }).waitFor();
    await axe('guide');
  });

  await step('dark and high-contrast themes', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByTestId('job-row-e2e-hello').waitFor();
    await page.getByText('Dark theme').click();
    expect(await page.evaluate(() => document.documentElement.classList.contains('pf-v6-theme-dark')), 'no dark class');
    await axe('list-dark');
    await page.getByText('High contrast').click();
    expect(await page.evaluate(() => document.documentElement.classList.contains('pf-v6-theme-high-contrast')), 'no high-contrast class');
    await axe('list-dark-high-contrast');
    await page.getByText('Dark theme').click();
    await page.getByText('High contrast').click();
  });

  await step('keyboard: skip link and focus on the page heading', async () => {
    await page.goto(server.url + '/');
    await heading().waitFor();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
    expect(/Skip to content/.test(focused), `first Tab focuses "${focused}"`);
    await page.getByRole('link', { name: 'Create job' }).click();
    await heading().filter({ hasText: 'Create training job' }).waitFor();
    const active = await page.evaluate(() => document.activeElement?.tagName);
    expect(active === 'H1', `focus after navigation is on ${active}`);
  });

  await step('delete the job with confirmation', async () => {
    await page.goto(`${server.url}/jobs/default/e2e-hello`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Delete e2e-hello?').waitFor();
    await axe('delete-dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await heading().filter({ hasText: 'Training jobs' }).waitFor();
    await page.getByTestId('job-row-e2e-hello').waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByTestId('job-row-e2e-hello-2').waitFor();
  });

  await step('bulk delete from the list', async () => {
    await page.getByRole('checkbox', { name: 'Select all rows' }).check();
    await page.getByRole('button', { name: /^Delete \(\d+\)$/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No training jobs yet').waitFor({ timeout: 30_000 });
  });

  await step('no CSP violations or uncaught errors in the browser console', async () => {
    const bad = consoleErrors.filter((e) => /Content Security Policy|Uncaught|TypeError|ReferenceError/.test(e));
    expect(bad.length === 0, bad.join('\n'));
  });

  await context.close();
}
