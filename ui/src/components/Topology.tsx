// Worker topology: launcher → workers, each node coloured by state, with
// details on hover or keyboard focus. A plain SVG rather than
// @patternfly/react-topology: the picture is a fixed one-to-many tree, and
// react-topology would add mobx, d3 and ~1 MB for a force layout we do not need;
// here every node is a real focusable button with a text label.
import { useState } from 'react';
import type { JobStatus, ReplicaStatus } from '../api/types';

const W = 112;
const H = 40;
const GAP_X = 16;
const GAP_Y = 20;
const PER_ROW = 8;

const STATE_COLOR: Record<string, string> = {
  Running: 'blue',
  Succeeded: 'green',
  Failed: 'red',
  Pending: 'gray',
  Unknown: 'orange',
};

function colorOf(r: ReplicaStatus): string {
  if (r.reason === 'OOMKilled' || r.reason === 'Evicted') return 'red';
  return STATE_COLOR[r.state ?? 'Pending'] ?? 'gray';
}

export function describeReplica(r: ReplicaStatus): string {
  const parts = [`${r.name ?? 'replica'}: ${r.state ?? 'Pending'}`];
  if (r.ready) parts.push('ready');
  if (r.reason) parts.push(`reason ${r.reason}`);
  if (r.exitCode !== undefined) parts.push(`exit code ${r.exitCode}`);
  parts.push(`restarts ${r.restarts ?? 0}`);
  if (r.node) parts.push(`node ${r.node}`);
  if (r.ranks?.length) parts.push(`ranks ${r.ranks.join(', ')}`);
  return parts.join(', ');
}

/** replicasOf fills in placeholder workers the status does not list yet. */
export function replicasOf(status: JobStatus | undefined, replicas: number): { launcher: ReplicaStatus; workers: ReplicaStatus[] } {
  const launcher = status?.launcher ?? { name: 'launcher', index: -1, state: 'Pending' };
  // protojson omits index 0, so a worker without an index is worker 0.
  const byIndex = new Map((status?.workerStatuses ?? []).map((w) => [w.index ?? 0, { ...w, index: w.index ?? 0 }]));
  const n = Math.max(replicas, status?.workerStatuses?.length ?? 0);
  const workers: ReplicaStatus[] = [];
  for (let i = 0; i < n; i++) workers.push(byIndex.get(i) ?? { name: `worker-${i}`, index: i, state: 'Pending' });
  return { launcher: { ...launcher, name: launcher.name || 'launcher' }, workers };
}

export interface TopologyProps {
  status: JobStatus | undefined;
  replicas: number;
  /** Called with -1 for the launcher or the worker index (e.g. to open its logs). */
  onSelect?: (index: number) => void;
}

export function Topology({ status, replicas, onSelect }: TopologyProps) {
  const { launcher, workers } = replicasOf(status, replicas);
  const [focus, setFocus] = useState<ReplicaStatus | null>(null);
  const cols = Math.max(1, Math.min(PER_ROW, workers.length));
  const rows = Math.ceil(workers.length / cols);
  const width = cols * W + (cols - 1) * GAP_X + 16;
  const busY = H + 8 + GAP_Y;
  const top = busY + GAP_Y;
  const height = top + rows * (H + GAP_Y) + 8;
  const lx = width / 2 - W / 2;

  const node = (r: ReplicaStatus, x: number, y: number) => {
    const c = colorOf(r);
    const label = r.index === -1 ? 'launcher' : `worker ${r.index}`;
    const sub = r.exitCode !== undefined && r.state !== 'Running' ? `${r.state} (${r.exitCode})` : r.state ?? 'Pending';
    const desc = describeReplica(r);
    return (
      <g
        key={r.name}
        transform={`translate(${x},${y})`}
        role="button"
        tabIndex={0}
        aria-label={`${desc}. Press Enter to show its logs.`}
        className="odh-topology-node"
        data-state={r.state ?? 'Pending'}
        data-testid={`topology-${r.name}`}
        onMouseEnter={() => setFocus(r)}
        onFocus={() => setFocus(r)}
        onClick={() => onSelect?.(r.index ?? -1)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            onSelect?.(r.index ?? -1);
          }
        }}
      >
        <title>{desc}</title>
        <rect
          width={W}
          height={H}
          rx={6}
          style={{
            fill: `var(--pf-t--global--color--nonstatus--${c}--default)`,
            stroke: 'var(--pf-t--global--border--color--default)',
          }}
        />
        <text x={W / 2} y={16} textAnchor="middle" style={{ fill: `var(--pf-t--global--text--color--nonstatus--on-${c}--default)`, fontWeight: 600, fontSize: 13 }}>
          {label}
        </text>
        <text x={W / 2} y={32} textAnchor="middle" style={{ fill: `var(--pf-t--global--text--color--nonstatus--on-${c}--default)`, fontSize: 12 }}>
          {sub}
          {r.restarts ? ` ↻${r.restarts}` : ''}
        </text>
      </g>
    );
  };

  const firstRowCenters = workers.slice(0, cols).map((_, i) => 8 + i * (W + GAP_X) + W / 2);
  return (
    <div className="odh-topology">
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="group"
        aria-label={`Worker topology: launcher and ${workers.length} workers`}
        style={{ maxWidth: '100%', height: 'auto' }}
      >
        <g aria-hidden="true" style={{ stroke: 'var(--pf-t--global--border--color--default)', strokeWidth: 1.5 }}>
          <line x1={width / 2} y1={H + 8} x2={width / 2} y2={busY} />
          {firstRowCenters.length > 1 && (
            <line x1={firstRowCenters[0]} y1={busY} x2={firstRowCenters[firstRowCenters.length - 1]} y2={busY} />
          )}
          {firstRowCenters.map((x) => (
            <line key={x} x1={x} y1={busY} x2={x} y2={top} />
          ))}
        </g>
        {node({ ...launcher, index: -1 }, lx, 8)}
        {workers.map((w, i) => node(w, 8 + (i % cols) * (W + GAP_X), top + Math.floor(i / cols) * (H + GAP_Y)))}
      </svg>
      <p className="odh-topology-details" aria-live="polite" data-testid="topology-details">
        {focus ? describeReplica(focus) : 'Hover over or focus a node for details; Enter shows its logs.'}
      </p>
    </div>
  );
}
