// Worker topology: the launcher and every worker, readable from 2 to 1,000+
// workers. Workers are grouped by state (problems first) or by node, with
// counts; each group is a grid of cells coloured by state (and patterned, so
// colour is not the only cue), which zoom in and out. A search narrows it
// down (index, range, state:, node:). Keyboard: one Tab stop per group,
// arrow keys move between workers, Enter opens a worker's logs.
import { Button, Content, Flex, FlexItem, SearchInput, ToggleGroup, ToggleGroupItem, Tooltip } from '@patternfly/react-core';
import SearchMinusIcon from '@patternfly/react-icons/dist/esm/icons/search-minus-icon';
import SearchPlusIcon from '@patternfly/react-icons/dist/esm/icons/search-plus-icon';
import { memo, useCallback, useDeferredValue, useMemo, useState } from 'react';
import type { JobStatus, ReplicaStatus } from '../api/types';
import { describeReplica, formatCount, groupWorkers, parseWorkerQuery, stateOf, STATE_ORDER, summary, troubled, type GroupBy, type WorkerGroup } from '../lib/workers';
import { WorkerGrid, ZOOMS } from './WorkerGrid';

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

/** defaultZoom shows index numbers while they fit, plain cells for big jobs. */
export function defaultZoom(n: number): number {
  if (n <= 32) return 3;
  if (n <= 256) return 2;
  return 1;
}

export interface TopologyProps {
  launcher: ReplicaStatus;
  workers: ReplicaStatus[];
  /** The search, shared with the worker table. */
  query: string;
  onQueryChange: (q: string) => void;
  /** Called with -1 for the launcher or the worker index (e.g. to open its logs). */
  onSelect?: (index: number) => void;
}

function Legend() {
  return (
    <ul className="odh-wmap-legend" aria-label="Legend">
      {STATE_ORDER.map((s) => (
        <li key={s}>
          <span className={`odh-wcell odh-wcell--${s.toLowerCase()}`} aria-hidden="true" />
          {s}
        </li>
      ))}
      <li>
        <span className="odh-wcell odh-wcell--running odh-wcell--troubled" aria-hidden="true" />
        OOM-killed or evicted
      </li>
    </ul>
  );
}

function GroupHeader({ g, by, onOnly }: { g: WorkerGroup; by: GroupBy; onOnly: (q: string) => void }) {
  const counts =
    by === 'state'
      ? ''
      : ` — ${Object.entries(g.counts)
          .sort((a, b) => STATE_ORDER.indexOf(a[0]) - STATE_ORDER.indexOf(b[0]))
          .map(([s, n]) => `${formatCount(n)} ${s}`)
          .join(', ')}`;
  return (
    <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsSm' }} className="odh-wmap-group-header">
      <FlexItem>
        <h3 className="pf-v6-u-font-size-sm pf-v6-u-font-weight-bold" data-testid={`group-${g.key}`}>
          {by === 'node' ? `Node ${g.label}` : g.label}: {formatCount(g.workers.length)} worker{g.workers.length === 1 ? '' : 's'}
          {counts}
        </h3>
      </FlexItem>
      {by !== 'none' && (
        <FlexItem>
          <Button variant="link" isInline size="sm" onClick={() => onOnly(by === 'state' ? `state:${g.key.toLowerCase()}` : `node:${g.key}`)}>
            Show only {by === 'state' ? g.label : 'this node'}
          </Button>
        </FlexItem>
      )}
    </Flex>
  );
}

/** Topology is the worker map with its search, grouping and zoom. */
export const Topology = memo(function Topology({ launcher, workers, query, onQueryChange, onSelect }: TopologyProps) {
  const [by, setBy] = useState<GroupBy>('state');
  const [zoom, setZoom] = useState(() => defaultZoom(workers.length));
  const [focus, setFocus] = useState<ReplicaStatus | null>(null);
  // The search box stays responsive while a big map re-renders.
  const deferredQuery = useDeferredValue(query);
  const parsed = useMemo(() => parseWorkerQuery(deferredQuery), [deferredQuery]);
  const shown = useMemo(() => workers.filter(parsed.test), [workers, parsed]);
  const groups = useMemo(() => groupWorkers(shown, by), [shown, by]);
  const select = useCallback((i: number) => onSelect?.(i), [onSelect]);
  const l = { ...launcher, index: -1 };

  return (
    <div className="odh-topology" data-testid="topology">
      <Content component="p" data-testid="topology-summary">
        {summary(workers)}
      </Content>
      <Flex spaceItems={{ default: 'spaceItemsSm' }} alignItems={{ default: 'alignItemsCenter' }} className="pf-v6-u-mb-sm">
        <FlexItem grow={{ default: 'grow' }}>
          <SearchInput
            aria-label="Filter workers"
            placeholder="Filter: 12, 100-199, state:failed, node:gpu-1"
            value={query}
            onChange={(_e, v) => onQueryChange(v)}
            onClear={() => onQueryChange('')}
            aria-describedby="topology-filter-help"
          />
        </FlexItem>
        <FlexItem>
          <ToggleGroup aria-label="Group workers by">
            {(['state', 'node', 'none'] as const).map((b) => (
              <ToggleGroupItem key={b} text={b === 'none' ? 'No groups' : `By ${b}`} buttonId={`group-by-${b}`} isSelected={by === b} onChange={() => setBy(b)} />
            ))}
          </ToggleGroup>
        </FlexItem>
        <FlexItem>
          <Tooltip content="Zoom out">
            <Button variant="plain" aria-label="Zoom out" icon={<SearchMinusIcon />} isDisabled={zoom === 0} onClick={() => setZoom((z) => Math.max(0, z - 1))} />
          </Tooltip>
          <Tooltip content="Zoom in">
            <Button variant="plain" aria-label="Zoom in" icon={<SearchPlusIcon />} isDisabled={zoom === ZOOMS.length - 1} onClick={() => setZoom((z) => Math.min(ZOOMS.length - 1, z + 1))} />
          </Tooltip>
        </FlexItem>
      </Flex>
      <Content component="small" id="topology-filter-help" className={parsed.error ? 'odh-error-text' : undefined} data-testid="topology-filter-help">
        {parsed.error ??
          (query.trim()
            ? `${formatCount(shown.length)} of ${formatCount(workers.length)} workers match.`
            : 'An index (12), a range (100-199), state:failed, node:NAME or any text; the table below follows the same filter.')}
      </Content>
      <div className="odh-wmap">
        <Button
          variant="secondary"
          size="sm"
          className="odh-wmap-launcher"
          data-testid="topology-launcher"
          data-state={stateOf(l)}
          aria-label={`${describeReplica(l)}. Press Enter to show its logs.`}
          onFocus={() => setFocus(l)}
          onMouseEnter={() => setFocus(l)}
          onClick={() => select(-1)}
        >
          Launcher: {stateOf(l)}
          {troubled(l) ? ` (${l.reason})` : ''}
          {l.node ? ` on ${l.node}` : ''}
        </Button>
        {groups.map((g) =>
          g.workers.length ? (
            <section key={g.key} className="odh-wmap-group" aria-label={`${g.label}: ${g.workers.length} workers`}>
              <GroupHeader g={g} by={by} onOnly={onQueryChange} />
              <WorkerGrid workers={g.workers} label={g.label} zoom={zoom} onSelect={select} onFocusWorker={setFocus} />
            </section>
          ) : null,
        )}
        {!shown.length && <Content component="p">No worker matches the filter.</Content>}
      </div>
      <Legend />
      <p className="odh-topology-details" aria-live="polite" data-testid="topology-details">
        {focus ? describeReplica(focus) : 'Hover over or focus a worker for details; Enter shows its logs.'}
      </p>
    </div>
  );
});
