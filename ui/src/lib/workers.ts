// The workers of one job, made readable at 1,000 of them: a search query
// (index, range, state, node), grouping by state or node with counts, and
// the summary line. Pure functions, shared by the worker map and the table.
import type { ReplicaStatus } from '../api/types';

export type GroupBy = 'state' | 'node' | 'none';

/** Problems first: what needs attention is at the top. */
export const STATE_ORDER = ['Failed', 'Unknown', 'Running', 'Pending', 'Succeeded'];

export const stateOf = (r: ReplicaStatus): string => r.state || 'Pending';

/** A worker that ended badly while its state says otherwise (OOM, eviction) counts as a problem. */
export const troubled = (r: ReplicaStatus): boolean => r.reason === 'OOMKilled' || r.reason === 'Evicted';

/** describeReplica says everything known about a launcher or worker in one line. */
export function describeReplica(r: ReplicaStatus): string {
  const parts = [`${r.name ?? 'replica'}: ${stateOf(r)}`];
  if (r.ready) parts.push('ready');
  if (r.reason) parts.push(`reason ${r.reason}`);
  if (r.exitCode !== undefined) parts.push(`exit code ${r.exitCode}`);
  parts.push(`restarts ${r.restarts ?? 0}`);
  if (r.node) parts.push(`node ${r.node}`);
  if (r.ranks?.length) parts.push(`ranks ${r.ranks.join(', ')}`);
  return parts.join(', ');
}

export const NO_NODE = '(no node yet)';

export interface WorkerQuery {
  /** Why the query is not understood, to show under the search box. */
  error?: string;
  test: (r: ReplicaStatus) => boolean;
}

const RANGE = /^(\d+)\s*-\s*(\d+)$/;

/**
 * parseWorkerQuery reads the worker search box. Terms separated by spaces
 * must all match; a term is an index (`12`, `worker-12`), a range
 * (`100-199`), a comma list of those, `state:failed`, `node:gpu-3`, or any
 * text matched against the state, node, reason and name.
 */
export function parseWorkerQuery(q: string): WorkerQuery {
  const tests: ((r: ReplicaStatus) => boolean)[] = [];
  for (const term of q.trim().split(/\s+/).filter(Boolean)) {
    const t = term.toLowerCase();
    const kv = /^(state|node|index|reason):(.*)$/.exec(t);
    if (kv) {
      const [, key, v] = kv;
      if (!v) return { error: `${key}: needs a value, e.g. ${key === 'state' ? 'state:failed' : key === 'node' ? 'node:gpu-1' : key === 'index' ? 'index:0-99' : 'reason:oomkilled'}`, test: () => true };
      if (key === 'state') tests.push((r) => stateOf(r).toLowerCase() === v);
      else if (key === 'node') tests.push((r) => (r.node ?? '').toLowerCase().includes(v));
      else if (key === 'reason') tests.push((r) => (r.reason ?? '').toLowerCase().includes(v));
      else {
        const idx = indexTest(v);
        if (!idx) return { error: `index:${v} is not an index, a range (10-19) or a list (1,5,7)`, test: () => true };
        tests.push(idx);
      }
      continue;
    }
    const idx = indexTest(t.replace(/^worker-/, ''));
    if (idx) {
      tests.push(idx);
      continue;
    }
    tests.push((r) => [stateOf(r), r.node, r.reason, r.name].some((s) => s?.toLowerCase().includes(t)));
  }
  return { test: (r) => tests.every((f) => f(r)) };
}

function indexTest(v: string): ((r: ReplicaStatus) => boolean) | undefined {
  const parts = v.split(',').filter(Boolean);
  if (!parts.length) return undefined;
  const ranges: [number, number][] = [];
  for (const p of parts) {
    const m = RANGE.exec(p);
    if (m) ranges.push([Number(m[1]), Number(m[2])]);
    else if (/^\d+$/.test(p)) ranges.push([Number(p), Number(p)]);
    else return undefined;
  }
  return (r) => ranges.some(([a, b]) => (r.index ?? 0) >= Math.min(a, b) && (r.index ?? 0) <= Math.max(a, b));
}

export interface WorkerGroup {
  key: string;
  /** What the group is: a state, a node, or "All workers". */
  label: string;
  workers: ReplicaStatus[];
  /** Workers per state in this group. */
  counts: Record<string, number>;
}

export function countByState(workers: ReplicaStatus[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const w of workers) c[stateOf(w)] = (c[stateOf(w)] ?? 0) + 1;
  return c;
}

const stateRank = (s: string) => {
  const i = STATE_ORDER.indexOf(s);
  return i < 0 ? STATE_ORDER.length : i;
};

/** groupWorkers groups by state (problems first) or node (by name, workers without one last). */
export function groupWorkers(workers: ReplicaStatus[], by: GroupBy): WorkerGroup[] {
  if (by === 'none') return [{ key: 'all', label: 'All workers', workers, counts: countByState(workers) }];
  const m = new Map<string, ReplicaStatus[]>();
  for (const w of workers) {
    const k = by === 'state' ? stateOf(w) : w.node || NO_NODE;
    let g = m.get(k);
    if (!g) m.set(k, (g = []));
    g.push(w);
  }
  const keys = [...m.keys()];
  if (by === 'state') keys.sort((a, b) => stateRank(a) - stateRank(b) || a.localeCompare(b));
  else keys.sort((a, b) => (a === NO_NODE ? 1 : b === NO_NODE ? -1 : a.localeCompare(b, undefined, { numeric: true })));
  return keys.map((k) => ({ key: k, label: k, workers: m.get(k)!, counts: countByState(m.get(k)!) }));
}

const nf = new Intl.NumberFormat('en-US');
export const formatCount = (n: number) => nf.format(n);

/** countsText lists states with counts, problems first: "20 Failed, 950 Running, 30 Pending". */
export function countsText(counts: Record<string, number>): string {
  return Object.keys(counts)
    .sort((a, b) => stateRank(a) - stateRank(b))
    .map((s) => `${formatCount(counts[s])} ${s}`)
    .join(', ');
}

/** summary is the one line above the map: how many workers on how many nodes, by state. */
export function summary(workers: ReplicaStatus[]): string {
  const nodes = new Set(workers.map((w) => w.node).filter(Boolean)).size;
  const n = workers.length;
  const on = nodes ? ` on ${formatCount(nodes)} node${nodes === 1 ? '' : 's'}` : '';
  return `${formatCount(n)} worker${n === 1 ? '' : 's'}${on}: ${countsText(countByState(workers))}`;
}
