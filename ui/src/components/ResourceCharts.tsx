// CPU and memory use of a job's launcher and workers over the last minutes,
// from GET .../metrics. Plain SVG line charts rather than a chart library
// (@patternfly/react-charts brings Victory and ~500 kB): two small charts,
// one line per replica, colours from PatternFly palette tokens chosen per
// theme in app.css, and every number also in a table for screen readers.
import { Alert, Content, Spinner } from '@patternfly/react-core';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { useApi } from '../api/context';
import type { JobMetrics } from '../api/types';
import {
  axisMax,
  formatClock,
  formatMetric,
  formatSpan,
  latest,
  peak,
  seriesOf,
  timeRange,
  type Metric,
  type Series,
} from '../lib/metrics';

/** Seconds between refreshes at least, whatever the server's interval. */
const MIN_REFRESH_SECONDS = 2;
/** Replicas named in a chart's accessible name; the table lists all. */
const MAX_NAMED = 8;
const PALETTE_SIZE = 7;
const DASHES = ['', '6 3', '2 3'];

/** styleOf gives a replica its colour and dash pattern: the launcher grey and dashed, workers cycling through the palette. */
export function styleOf(index: number): { className: string; dash: string } {
  if (index < 0) return { className: 'odh-series-launcher', dash: '4 3' };
  return { className: `odh-series-${index % PALETTE_SIZE}`, dash: DASHES[Math.floor(index / PALETTE_SIZE) % DASHES.length] };
}

/** Chart size in CSS pixels: as wide as its column (so text is not scaled), this tall. */
const DEFAULT_W = 360;
const MIN_W = 220;
const H = 190;
const M = { left: 64, right: 14, top: 12, bottom: 42 };
const PH = H - M.top - M.bottom;

/** useWidth follows an element's width, DEFAULT_W until it is known. */
function useWidth<T extends Element>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(DEFAULT_W);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, Math.max(MIN_W, width)];
}

const TITLES: Record<Metric, { title: string; what: string; axis: string }> = {
  cpu: { title: 'CPU (cores)', what: 'CPU cores', axis: 'cores' },
  memory: { title: 'Memory (resident)', what: 'Resident memory', axis: 'memory' },
};

/** pathOf draws a series, breaking the line where samples are missing (e.g. while suspended). */
function pathOf(s: Series, x: (t: number) => number, y: (v: number) => number, gapMs: number): string {
  let d = '';
  let prev: number | undefined;
  for (const p of s.points) {
    const cmd = prev === undefined || p.t - prev > gapMs ? 'M' : 'L';
    d += `${cmd}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
    prev = p.t;
  }
  return d;
}

/** chartLabel summarises a chart for assistive technology. */
export function chartLabel(metric: Metric, series: Series[], range: [number, number]): string {
  const f = formatMetric[metric];
  const span = range[1] - range[0];
  const when = span > 0 ? `over the last ${formatSpan(span)}` : 'from one sample';
  const named = series.slice(0, MAX_NAMED).map((s) => `${s.name} latest ${f(latest(s))}`);
  if (series.length > MAX_NAMED) named.push(`and ${series.length - MAX_NAMED} more replicas`);
  return `${TITLES[metric].what} per replica ${when}; ${named.join(', ')}`;
}

function Chart({ metric, series, range, intervalMs }: { metric: Metric; series: Series[]; range: [number, number]; intervalMs: number }) {
  const f = formatMetric[metric];
  const t = TITLES[metric];
  const [ref, W] = useWidth<HTMLElement>();
  const PW = W - M.left - M.right;
  const top = axisMax(metric, Math.max(0, ...series.map(peak)));
  const [t0, t1] = range;
  const x = (ts: number) => M.left + (t1 > t0 ? ((ts - t0) / (t1 - t0)) * PW : PW);
  const y = (v: number) => M.top + PH - (Math.min(v, top) / top) * PH;
  const ticks = [0, top / 2, top];
  return (
    <figure ref={ref} className="odh-chart" data-testid={`chart-${metric}`}>
      <figcaption>
        <h3 className="odh-chart-title">
          {t.title}
        </h3>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        role="img"
        aria-label={chartLabel(metric, series, range)}
        data-testid={`chart-${metric}-svg`}
        className="odh-chart-svg"
      >
        <g className="odh-chart-grid">
          {ticks.map((v) => (
            <line key={v} x1={M.left} x2={M.left + PW} y1={y(v)} y2={y(v)} />
          ))}
        </g>
        <g className="odh-chart-axis">
          <line x1={M.left} x2={M.left} y1={M.top} y2={M.top + PH} />
          <line x1={M.left} x2={M.left + PW} y1={M.top + PH} y2={M.top + PH} />
        </g>
        <g className="odh-chart-ticks">
          {ticks.map((v) => (
            <text key={v} x={M.left - 6} y={y(v)} textAnchor="end" dominantBaseline="middle">
              {f(v)}
            </text>
          ))}
          <text x={M.left} y={M.top + PH + 16} textAnchor="start">
            {formatClock(t0)}
          </text>
          <text x={M.left + PW} y={M.top + PH + 16} textAnchor="end">
            {formatClock(t1)}
          </text>
        </g>
        <g className="odh-chart-axis-label">
          <text x={M.left + PW / 2} y={H - 4} textAnchor="middle">
            time
          </text>
          <text transform={`translate(12,${M.top + PH / 2}) rotate(-90)`} textAnchor="middle">
            {t.axis}
          </text>
        </g>
        {series.map((s) => {
          const st = styleOf(s.index);
          const last = s.points[s.points.length - 1];
          return (
            <g key={s.name} className={`odh-chart-series ${st.className}`} data-series={s.name}>
              <path d={pathOf(s, x, y, intervalMs * 2.5)} strokeDasharray={st.dash || undefined} data-testid={`series-${metric}-${s.name}`} />
              <circle cx={x(last.t)} cy={y(last.v)} r={2.5} />
            </g>
          );
        })}
      </svg>
      <ul className="odh-chart-legend" data-testid={`legend-${metric}`}>
        {series.map((s) => {
          const st = styleOf(s.index);
          return (
            <li key={s.name} data-testid={`legend-${metric}-${s.name}`}>
              <svg width={22} height={10} aria-hidden="true" focusable="false" className={`odh-chart-series ${st.className}`}>
                <line x1={1} x2={21} y1={5} y2={5} strokeDasharray={st.dash || undefined} />
              </svg>
              {s.name}
            </li>
          );
        })}
      </ul>
      <table className="pf-v6-screen-reader" data-testid={`table-${metric}`}>
        <caption>
          {t.what} per replica, {formatClock(t0)} to {formatClock(t1)}
        </caption>
        <thead>
          <tr>
            <th scope="col">Replica</th>
            <th scope="col">Latest</th>
            <th scope="col">Peak</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s) => (
            <tr key={s.name} data-replica={s.name} data-latest={latest(s)} data-peak={peak(s)}>
              <th scope="row">{s.name}</th>
              <td>{f(latest(s))}</td>
              <td>{f(peak(s))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

interface Loaded {
  key: string;
  metrics?: JobMetrics;
  error?: string;
}

/**
 * ResourceCharts shows a job's CPU and memory use per replica. It asks the
 * server once, and again every sampling interval while the job runs.
 */
export function ResourceCharts({ namespace, name, phase }: { namespace: string; name: string; phase: string }) {
  const api = useApi();
  const key = `${namespace}/${name}`;
  const live = phase === 'Running' || phase === 'Starting';
  const [loaded, setLoaded] = useState<Loaded>({ key });

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let every = MIN_REFRESH_SECONDS;
    const load = async () => {
      let stop = false;
      // A hidden tab is not refreshed; it catches up on the next tick after it shows again.
      if (!live || typeof document === 'undefined' || document.visibilityState !== 'hidden') {
        try {
          const metrics = await api.getJobMetrics(namespace, name);
          if (!alive) return;
          every = Math.max(MIN_REFRESH_SECONDS, metrics.intervalSeconds ?? 0);
          setLoaded({ key, metrics });
          stop = !metrics.available;
        } catch (e) {
          if (!alive) return;
          setLoaded((l) => ({ key, metrics: l.key === key ? l.metrics : undefined, error: (e as Error).message }));
          // The job is gone, or the server cannot answer this: asking again will not help.
          stop = e instanceof ApiError && [401, 403, 404, 501].includes(e.httpStatus);
        }
      }
      if (alive && live && !stop) timer = setTimeout(load, every * 1000);
    };
    void load();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [api, namespace, name, key, live]);

  const cur = loaded.key === key ? loaded : { key };
  const m = cur.metrics;
  const error = cur.error && <Alert variant="danger" isInline isPlain title={`Cannot load resource usage: ${cur.error}`} data-testid="metrics-error" />;
  if (!m) {
    return error || <Spinner size="lg" aria-label="Loading resource usage" />;
  }
  if (!m.available) {
    return (
      <>
        {error}
        <Content component="p" data-testid="metrics-unavailable">
          {m.message || 'This server does not measure the resource use of jobs.'}
        </Content>
      </>
    );
  }
  const cpu = seriesOf(m, 'cpu');
  const memory = seriesOf(m, 'memory');
  const range = timeRange(cpu);
  const intervalMs = Math.max(1, m.intervalSeconds ?? MIN_REFRESH_SECONDS) * 1000;
  const source = m.source && (
    <Content component="small" className="odh-chart-source">
      Source: {m.source}
      {m.intervalSeconds ? `; a sample every ${m.intervalSeconds} s` : ''}.
    </Content>
  );
  if (!range) {
    return (
      <>
        {error}
        <Content component="p" data-testid="metrics-empty">
          {live
            ? `No samples yet: the first arrive within ${Math.max(MIN_REFRESH_SECONDS, m.intervalSeconds ?? 0)} seconds of the job running.`
            : 'Resource use is recorded while the job runs. None is kept for this job: samples cover the last minutes of a run and live in the server’s memory.'}
        </Content>
        {source}
      </>
    );
  }
  return (
    <div data-testid="resource-charts">
      {error}
      <div className="odh-charts">
        <Chart metric="cpu" series={cpu} range={range} intervalMs={intervalMs} />
        <Chart metric="memory" series={memory} range={range} intervalMs={intervalMs} />
      </div>
      {source}
    </div>
  );
}
