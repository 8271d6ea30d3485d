// Dashboard benchmark (not a pass/fail test) on a real odh-server in headless
// Chromium:
//   - the job list with 1,000 jobs
//     - time to interactive: navigation start → the 1,000 watched jobs are listed
//     - filtering: input event → the filtered table is painted
//     - status latency: the server's watch stream reports a change → the row shows it
//   - the detail page of a 1,000-worker job
//     - time to interactive: navigation start → the worker map shows every
//       worker, the worker table its first page
//     - filtering the map: input event → the matching cells are painted
// The jobs are created through the API with runPolicy.suspend so that seeding
// does not start 1,000 mpiruns; status changes come from resuming some of them.
// The local engine cannot run 1,000 ranks on one machine, so the wide job stays
// suspended: the server lists every worker (Pending, no node), as it would
// before a cluster schedules them.
// Usage: ODH_SERVER_BIN=../bin/odh-server npm run bench   (BENCH_JOBS=1000, BENCH_WORKERS=1000)
import { join } from 'node:path';
import { artifactsDir, ensureArtifacts, launchBrowser, startServer } from './harness.mjs';

const N = Number(process.env.BENCH_JOBS ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1000);
const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;
const name = (i) => `bench-${String(i).padStart(4, '0')}`;

async function seed(server) {
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < N; i = next++) {
      await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
        job: {
          metadata: { name: name(i), labels: { bench: 'yes', group: `g${i % 10}` } },
          spec: { command: ['true'], workers: { replicas: 1 }, runPolicy: { suspend: true } },
        },
        dryRun: false,
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return Date.now() - t0;
}

/**
 * watchFor opens a watch on job n and resolves once the initial list is in
 * (SYNCED); its `done` resolves with Date.now() when the server streams a
 * change matching predicate.
 */
async function watchFor(server, n, predicate) {
  const ctl = new AbortController();
  const res = await fetch(`${server.url}/api/v1/watch/namespaces/default/mpijobs?name=${n}`, {
    headers: { Authorization: `Bearer ${server.token}` },
    signal: ctl.signal,
  });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let synced;
  const isSynced = new Promise((r) => (synced = r));
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('watch ended');
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const ev = JSON.parse(line).result;
        if (ev?.type === 'SYNCED') synced();
        else if (ev?.type === 'MODIFIED' && ev.job && predicate(ev.job)) {
          const t = Date.now();
          ctl.abort();
          return { t, phase: ev.job.status?.phase };
        }
      }
    }
  })();
  await isSynced;
  return { done };
}

/** benchDetail measures the detail page of one job with WORKERS workers. */
async function benchDetail(server, page) {
  await server.api('POST', '/api/v1/namespaces/default/mpijobs', {
    job: {
      metadata: { name: 'bench-wide' },
      spec: { command: ['true'], workers: { replicas: WORKERS, resources: { cpu: '2', memory: '20000Mi' } }, runPolicy: { suspend: true } },
    },
    dryRun: false,
  });
  const last = `topology-worker-${WORKERS - 1}`;
  const tti = [];
  for (let r = 0; r < RUNS; r++) {
    await page.goto(`${server.url}/jobs/default/bench-wide`);
    await page.waitForFunction(
      ({ last, n }) => {
        const summary = document.querySelector('[data-testid="topology-summary"]')?.textContent ?? '';
        const ready =
          summary.startsWith(`${n.toLocaleString('en-US')} worker`) &&
          document.querySelector(`[data-testid="${last}"]`) &&
          document.querySelectorAll('[data-testid="worker-table"] tbody tr').length > 1;
        if (ready && !window.__tti) window.__tti = performance.now();
        return !!window.__tti;
      },
      { last, n: WORKERS },
      { polling: 'raf', timeout: 60_000 },
    );
    tti.push(await page.evaluate(() => window.__tti));
  }
  await page.getByTestId('topology').screenshot({ path: join(artifactsDir, `bench-detail-${WORKERS}.png`) });
  const filterMap = (value, expect) =>
    page.evaluate(
      ({ value, expect }) =>
        new Promise((resolve, reject) => {
          const input = document.querySelector('input[aria-label="Filter workers"]');
          const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
          const t0 = performance.now();
          setter.call(input, value);
          input.dispatchEvent(new Event('input', { bubbles: true }));
          const check = () => {
            const n = document.querySelectorAll('.odh-wgrid [role="gridcell"]').length;
            if (n === expect) requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
            else if (performance.now() - t0 > 10_000) reject(new Error(`${n} cells, want ${expect}`));
            else requestAnimationFrame(check);
          };
          check();
        }),
      { value, expect },
    );
  const filter = [];
  const clear = [];
  for (let r = 0; r < RUNS; r++) {
    filter.push(await filterMap(`${r * 100}-${r * 100 + 99}`, Math.min(100, WORKERS - r * 100)));
    clear.push(await filterMap('', WORKERS));
  }
  return { tti, filter, clear };
}

async function main() {
  ensureArtifacts();
  const server = await startServer({ extraArgs: [`--slots=${Math.max(64, WORKERS)}`] });
  const browser = await launchBrowser();
  try {
    console.log(`seeding ${N} jobs...`);
    const seedMs = await seed(server);
    console.log(`  seeded in ${(seedMs / 1000).toFixed(1)} s`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    // Log in once so that the token is in sessionStorage.
    await page.goto(`${server.url}/?token=${encodeURIComponent(server.token)}`);
    await page.getByTestId('result-count').waitFor({ state: 'attached', timeout: 60_000 });

    // 1. Time to interactive.
    const tti = [];
    for (let r = 0; r < RUNS; r++) {
      await page.goto(`${server.url}/`);
      await page.waitForFunction(
        (n) => {
          const el = document.querySelector('[data-testid="result-count"]');
          const rows = document.querySelectorAll('[data-testid^="job-row-"]').length;
          if (el?.textContent?.includes(`of ${n} jobs`) && rows > 0 && !window.__tti) window.__tti = performance.now();
          return !!window.__tti;
        },
        N,
        { polling: 'raf', timeout: 60_000 },
      );
      tti.push(await page.evaluate(() => window.__tti));
    }
    await page.screenshot({ path: join(artifactsDir, 'bench-list-1000.png') });

    // 2. Filtering: from the input event to the painted result.
    const filterOnce = (label, value, expectRows) =>
      page.evaluate(
        ({ label, value, expectRows }) =>
          new Promise((resolve, reject) => {
            const input = document.querySelector(`input[aria-label="${label}"]`);
            const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
            const t0 = performance.now();
            setter.call(input, value);
            input.dispatchEvent(new Event('input', { bubbles: true }));
            const check = () => {
              const rows = document.querySelectorAll('[data-testid^="job-row-"]').length;
              if (rows === expectRows) {
                // Wait for the frame that shows it.
                requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
              } else if (performance.now() - t0 > 5000) reject(new Error(`${rows} rows, want ${expectRows}`));
              else requestAnimationFrame(check);
            };
            check();
          }),
        { label, value, expectRows },
      );
    const filters = { name: [], label: [], clear: [] };
    for (let r = 0; r < RUNS; r++) {
      filters.name.push(await filterOnce('Search jobs by name', name(N - 1 - r), 1));
      filters.clear.push(await filterOnce('Search jobs by name', '', 20));
      filters.label.push(await filterOnce('Filter by label selector', `group=g${r}`, 20));
      await filterOnce('Filter by label selector', '', 20);
    }

    // 3. Status change latency: resume a suspended job; compare the time the
    // server's watch reports the change with the time the row shows it.
    const latency = [];
    for (let r = 0; r < RUNS; r++) {
      const n = name(Math.floor(N / 2) + r);
      await filterOnce('Search jobs by name', n, 1);
      await page.evaluate((n) => {
        window.__seen = undefined;
        const row = document.querySelector(`[data-testid="job-row-${n}"]`);
        const first = row.getAttribute('data-phase');
        const obs = new MutationObserver(() => {
          const r2 = document.querySelector(`[data-testid="job-row-${n}"]`);
          if (r2 && r2.getAttribute('data-phase') !== first && !window.__seen) {
            window.__seen = { t: Date.now(), phase: r2.getAttribute('data-phase') };
            obs.disconnect();
          }
        });
        obs.observe(document.querySelector('[data-testid="job-table"]'), { subtree: true, attributes: true, childList: true });
      }, n);
      const w = await watchFor(server, n, (j) => j.status?.phase !== 'Suspended');
      await server.api('POST', `/api/v1/namespaces/default/mpijobs/${n}/resume`, {});
      const serverSaw = await w.done;
      await page.waitForFunction(() => !!window.__seen, null, { timeout: 10_000 });
      const uiSaw = await page.evaluate(() => window.__seen);
      latency.push(uiSaw.t - serverSaw.t);
    }
    await filterOnce('Search jobs by name', '', 20);

    const detail = await benchDetail(server, page);

    console.log(`\nDashboard benchmark (${N} jobs, headless Chromium, local engine)`);
    console.log(`  seed ${N} jobs through the API:        ${(seedMs / 1000).toFixed(1)} s`);
    console.log(`  time to interactive (list, all jobs):  ${fmt(tti)}  [goal < 1000 ms]`);
    console.log(`  filter by name (1 match):              ${fmt(filters.name)}  [goal < 100 ms]`);
    console.log(`  filter by label (N/10 match):         ${fmt(filters.label)}`);
    console.log(`  clear filter (${N} jobs):             ${fmt(filters.clear)}`);
    console.log(`  status change, server watch → UI row:  ${fmt(latency)}  [goal < 1000 ms]`);
    console.log('  (status latency: the row\'s change minus the moment a second watch client in this script got the same event;\n   both read the server\'s stream in parallel, so small negative values are possible)');
    console.log(`\nDetail page of a ${WORKERS}-worker job`);
    console.log(`  time to interactive (map + table):      ${fmt(detail.tti)}  [goal < 1000 ms]`);
    console.log(`  filter the map (index range, 100 match): ${fmt(detail.filter)}`);
    console.log(`  clear the map filter (${WORKERS} cells):   ${fmt(detail.clear)}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();
