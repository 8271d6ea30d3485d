// The launcher and workers as a table: the launcher first, then one page of
// the workers that match the worker filter (the topology's search), so a
// 1,000-worker job renders 20–100 rows, not 1,000.
import { Button, Pagination } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { memo, useEffect, useMemo, useState } from 'react';
import type { ReplicaStatus } from '../api/types';
import { paginate } from '../lib/listFilter';
import { formatTime } from '../lib/status';
import { formatCount, parseWorkerQuery } from '../lib/workers';

export interface WorkerTableProps {
  launcher: ReplicaStatus;
  workers: ReplicaStatus[];
  query: string;
  onSelect: (index: number) => void;
}

function Row({ r, onSelect }: { r: ReplicaStatus; onSelect: (index: number) => void }) {
  return (
    <Tr data-testid={`replica-${r.name}`}>
      <Td dataLabel="Replica">{r.name}</Td>
      <Td dataLabel="State">{r.state ?? 'Pending'}</Td>
      <Td dataLabel="Ready">{r.ready ? 'Yes' : 'No'}</Td>
      <Td dataLabel="Ranks">{r.ranks?.join(', ') || '—'}</Td>
      <Td dataLabel="Node">{r.node || '—'}</Td>
      <Td dataLabel="Restarts">{r.restarts ?? 0}</Td>
      <Td dataLabel="Exit code">{r.exitCode ?? '—'}</Td>
      <Td dataLabel="Reason">{r.reason ? `${r.reason}${r.message ? `: ${r.message}` : ''}` : '—'}</Td>
      <Td dataLabel="Started">{formatTime(r.startTime)}</Td>
      <Td dataLabel="Finished">{formatTime(r.finishTime)}</Td>
      <Td dataLabel="Actions">
        <Button variant="link" isInline onClick={() => onSelect(r.index ?? -1)} aria-label={`Logs of ${r.name}`}>
          Logs
        </Button>
      </Td>
    </Tr>
  );
}

export const WorkerTable = memo(function WorkerTable({ launcher, workers, query, onSelect }: WorkerTableProps) {
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(20);
  const shown = useMemo(() => workers.filter(parseWorkerQuery(query).test), [workers, query]);
  useEffect(() => setPage(1), [query]);
  const paged = paginate(shown, page, perPage);
  const pager = (bottom: boolean) =>
    shown.length > 20 && (
      <Pagination
        itemCount={shown.length}
        page={paged.page}
        perPage={perPage}
        perPageOptions={[20, 50, 100].map((n) => ({ title: String(n), value: n }))}
        onSetPage={(_e, p) => setPage(p)}
        onPerPageSelect={(_e, pp) => {
          setPerPage(pp);
          setPage(1);
        }}
        isCompact={!bottom}
        variant={bottom ? 'bottom' : 'top'}
        titles={{ paginationAriaLabel: bottom ? 'Worker pages, bottom' : 'Worker pages' }}
        data-testid={bottom ? undefined : 'worker-pagination'}
      />
    );
  return (
    <>
      {pager(false)}
      <Table aria-label="Launcher and workers" variant="compact" data-testid="worker-table">
        <Thead>
          <Tr>
            <Th>Replica</Th>
            <Th>State</Th>
            <Th>Ready</Th>
            <Th>Ranks</Th>
            <Th>Node</Th>
            <Th>Restarts</Th>
            <Th>Exit code</Th>
            <Th>Reason</Th>
            <Th>Started</Th>
            <Th>Finished</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          <Row r={launcher} onSelect={onSelect} />
          {paged.items.map((r) => (
            <Row key={r.name} r={r} onSelect={onSelect} />
          ))}
        </Tbody>
      </Table>
      {pager(true)}
      {query.trim() && (
        <p className="pf-v6-u-font-size-sm" data-testid="worker-table-filtered">
          {formatCount(shown.length)} of {formatCount(workers.length)} workers match the filter.
        </p>
      )}
    </>
  );
});
