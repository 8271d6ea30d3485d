// Resource-use samples (GET .../metrics) as chart series, with the number
// formats and axis scales of the resource charts on the job detail page.
import type { JobMetrics, MetricSample } from '../api/types';
import { parseTime } from './status';

export interface Point {
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
}

export interface Series {
  name: string;
  /** -1 for the launcher. */
  index: number;
  points: Point[];
}

export type Metric = 'cpu' | 'memory';

const pick: Record<Metric, (s: MetricSample) => number> = {
  // protojson omits zero values.
  cpu: (s) => s.cpuCores ?? 0,
  memory: (s) => s.memoryBytes ?? 0,
};

/**
 * seriesOf turns the replicas of a metrics answer into one series per
 * replica, launcher first, each sorted by time. Replicas without samples are
 * left out; a missing index is worker 0 (protojson omits zero).
 */
export function seriesOf(m: JobMetrics | undefined, metric: Metric): Series[] {
  const out: Series[] = [];
  for (const r of m?.replicas ?? []) {
    const index = r.index ?? 0;
    const points: Point[] = [];
    for (const s of r.samples ?? []) {
      const t = parseTime(s.time);
      const v = pick[metric](s);
      if (t !== undefined && Number.isFinite(v)) points.push({ t, v: Math.max(0, v) });
    }
    if (!points.length) continue;
    points.sort((a, b) => a.t - b.t);
    out.push({ name: r.name || (index < 0 ? 'launcher' : `worker-${index}`), index, points });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** timeRange is the first and last sample time over all series. */
export function timeRange(series: Series[]): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    lo = Math.min(lo, s.points[0].t);
    hi = Math.max(hi, s.points[s.points.length - 1].t);
  }
  return lo <= hi ? [lo, hi] : undefined;
}

export function latest(s: Series): number {
  return s.points[s.points.length - 1].v;
}

export function peak(s: Series): number {
  return s.points.reduce((m, p) => Math.max(m, p.v), 0);
}

/** niceCeil rounds up to 1, 2 or 5 times a power of ten. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 0;
  const p = 10 ** Math.floor(Math.log10(x));
  const f = x / p;
  const n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return Number((n * p).toPrecision(12));
}

const KiB = 2 ** 10;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** The top of a chart's value axis: at least 0.1 cores or 1 MiB. */
export function axisMax(metric: Metric, max: number): number {
  if (metric === 'cpu') return Math.max(0.1, niceCeil(max));
  const unit = max >= TiB ? TiB : max >= GiB ? GiB : MiB;
  return Math.max(MiB, niceCeil(max / unit) * unit);
}

/** formatCores shows cores with two significant digits: 0.98, 0.012, 1.5, 12.3. */
export function formatCores(v: number): string {
  if (v === 0) return '0';
  if (v >= 10) return String(Number(v.toFixed(1)));
  return String(Number(v.toPrecision(2)));
}

/** formatBytes shows bytes in binary units: 11.4 MiB, 512 MiB, 1.5 GiB. */
export function formatBytes(v: number): string {
  for (const [u, n] of [
    ['TiB', TiB],
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (v >= n) return `${Number((v / n).toPrecision(3))} ${u}`;
  }
  return `${Math.round(v)} B`;
}

export const formatMetric: Record<Metric, (v: number) => string> = { cpu: formatCores, memory: formatBytes };

/** formatSpan says how long a stretch of samples is: "40 seconds", "2 minutes". */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

/** formatClock shows a time of day, HH:MM:SS in the browser's locale. */
export function formatClock(t: number): string {
  return new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
