import {
  Badge,
  Button,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Label,
  MenuToggle,
  PageSection,
  Pagination,
  SearchInput,
  Select,
  SelectList,
  SelectOption,
  TextInput,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarFilter,
  ToolbarGroup,
  ToolbarItem,
  Alert,
  Spinner,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr, type ThProps } from '@patternfly/react-table';
import { useEffect, useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { jobKey, type MPIJob } from '../api/types';
import { ConfirmDelete } from '../components/ConfirmDelete';
import { StatusLabel } from '../components/StatusLabel';
import { useDebounced, useJobWatch, useNow } from '../hooks';
import { filterJobs, paginate, parseSelector, sortJobs, type ListFilter, type Sort, type SortKey } from '../lib/listFilter';
import { durationMs, formatAge, formatDuration, PHASES, phaseOf, workersReady } from '../lib/status';
import { jobPath, Link, useLocation, useNavigate } from '../router';

const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'namespace', label: 'Namespace' },
  { key: null, label: 'Type' },
  { key: 'status', label: 'Status' },
  { key: 'workers', label: 'Workers' },
  { key: 'created', label: 'Created' },
  { key: 'duration', label: 'Duration' },
];

/** workersText: ready/total while a job runs, how the workers ended once it is done. */
export function workersText(j: MPIJob): string {
  const w = workersReady(j.status, j.spec?.workers?.replicas);
  const c = j.status?.workers ?? {};
  const phase = phaseOf(j);
  if (phase === 'Succeeded' || phase === 'Failed') {
    const parts = [`${c.succeeded ?? 0}/${w.total} succeeded`];
    if (c.failed) parts.push(`${c.failed} failed`);
    return parts.join(', ');
  }
  return `${w.ready}/${w.total} ready`;
}

export interface JobTableProps {
  jobs: MPIJob[];
  now: number;
  sort: Sort;
  onSort: (s: Sort) => void;
  selected: Set<string>;
  onSelect: (keys: string[], on: boolean) => void;
}

export function JobTable({ jobs, now, sort, onSort, selected, onSelect }: JobTableProps) {
  const sortParams = (key: SortKey | null, columnIndex: number): ThProps['sort'] | undefined =>
    key
      ? {
          sortBy: { index: COLUMNS.findIndex((c) => c.key === sort.key), direction: sort.dir },
          onSort: (_e, _i, dir) => onSort({ key, dir }),
          columnIndex,
        }
      : undefined;
  const keys = jobs.map(jobKey);
  const allSelected = keys.length > 0 && keys.every((k) => selected.has(k));
  return (
    <Table aria-label="Training jobs" variant="compact" data-testid="job-table">
      <Thead>
        <Tr>
          <Th
            select={{ onSelect: (_e, on) => onSelect(keys, on), isSelected: allSelected }}
          />
          {COLUMNS.map((c, i) => (
            <Th key={c.label} sort={sortParams(c.key, i)} modifier="nowrap">
              {c.label}
            </Th>
          ))}
        </Tr>
      </Thead>
      <Tbody>
        {jobs.map((j, rowIndex) => {
          const k = jobKey(j);
          const name = j.metadata?.name ?? '';
          const ns = j.metadata?.namespace ?? '';
          return (
            <Tr key={k} data-testid={`job-row-${name}`} data-phase={phaseOf(j)}>
              <Td
                select={{ rowIndex, onSelect: (_e, on) => onSelect([k], on), isSelected: selected.has(k) }}
              />
              <Td dataLabel="Name">
                <Link to={jobPath(ns, name)}>{name}</Link>
              </Td>
              <Td dataLabel="Namespace">{ns}</Td>
              <Td dataLabel="Type">MPIJob</Td>
              <Td dataLabel="Status">
                <StatusLabel phase={phaseOf(j)} compact />
                {j.status?.reason && j.status.reason !== phaseOf(j) && (
                  <span className="pf-v6-u-ml-sm pf-v6-u-font-size-sm">{j.status.reason}</span>
                )}
              </Td>
              <Td dataLabel="Workers">{workersText(j)}</Td>
              <Td dataLabel="Created">{formatAge(j.metadata?.creationTimestamp, now)}</Td>
              <Td dataLabel="Duration">{formatDuration(durationMs(j, now))}</Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}

/** JobListPage: every job of every namespace the user may see, live from the watch stream. */
export function JobListPage() {
  const api = useApi();
  const nav = useNavigate();
  const { query } = useLocation();
  const [nsInput, setNsInput] = useState(query.get('namespace') ?? '');
  const namespace = useDebounced(nsInput.trim(), 400);
  const { state, connection, error } = useJobWatch(namespace ? { namespace } : {});
  // Users who may not list every namespace (a 403 on a cluster) get their default one.
  useEffect(() => {
    if (error?.httpStatus === 403 && !namespace) setNsInput('default');
  }, [error, namespace]);
  const now = useNow(1000);
  const [filter, setFilter] = useState<ListFilter>({ search: '', phases: [], labels: '' });
  const [sort, setSort] = useState<Sort>({ key: 'created', dir: 'desc' });
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(20);
  const [statusOpen, setStatusOpen] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState(false);
  const [actionError, setActionError] = useState<string>();

  const sortNow = sort.key === 'duration' ? now : 0;
  const filtered = useMemo(() => filterJobs(state.jobs.values(), filter), [state.jobs, filter]);
  const sorted = useMemo(() => sortJobs(filtered, sort, sortNow || Date.now()), [filtered, sort, sortNow]);
  const paged = paginate(sorted, page, perPage);
  const selectorValid = parseSelector(filter.labels) !== null;
  const selectedKeys = [...selected].filter((k) => state.jobs.has(k));

  const update = (f: Partial<ListFilter>) => {
    setFilter((old) => ({ ...old, ...f }));
    setPage(1);
  };
  const onSelect = (keys: string[], on: boolean) =>
    setSelected((old) => {
      const s = new Set(old);
      for (const k of keys) {
        if (on) s.add(k);
        else s.delete(k);
      }
      return s;
    });

  const deleteSelected = async () => {
    const failures: string[] = [];
    const queue = [...selectedKeys];
    // A few at a time: the server rate-limits each user.
    const worker = async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        const [ns, name] = k.split('/');
        try {
          await api.deleteJob(ns, name);
        } catch (e) {
          failures.push(`${k}: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    setSelected(new Set());
    setConfirm(false);
    setActionError(failures.length ? `Some jobs were not deleted: ${failures.join('; ')}` : undefined);
  };

  const toolbar = (
    <Toolbar
      clearAllFilters={() => update({ search: '', phases: [], labels: '' })}
      collapseListedFiltersBreakpoint="xl"
    >
      <ToolbarContent>
        <ToolbarItem>
          <SearchInput
            aria-label="Search jobs by name"
            placeholder="Search by name"
            value={filter.search}
            onChange={(_e, v) => update({ search: v })}
            onClear={() => update({ search: '' })}
            data-testid="job-search"
          />
        </ToolbarItem>
        <ToolbarFilter
          labels={filter.phases}
          deleteLabel={(_c, l) => update({ phases: filter.phases.filter((p) => p !== l) })}
          deleteLabelGroup={() => update({ phases: [] })}
          categoryName="Status"
        >
          <Select
            role="menu"
            isOpen={statusOpen}
            selected={filter.phases}
            onOpenChange={setStatusOpen}
            onSelect={(_e, v) => {
              const p = String(v);
              update({ phases: filter.phases.includes(p) ? filter.phases.filter((x) => x !== p) : [...filter.phases, p] });
            }}
            toggle={(ref) => (
              <MenuToggle
                ref={ref}
                onClick={() => setStatusOpen((o) => !o)}
                isExpanded={statusOpen}
                badge={filter.phases.length ? <Badge isRead>{filter.phases.length}</Badge> : undefined}
                data-testid="status-filter"
              >
                Status
              </MenuToggle>
            )}
          >
            <SelectList aria-label="Status filter">
              {PHASES.map((p) => (
                <SelectOption key={p} value={p} hasCheckbox isSelected={filter.phases.includes(p)}>
                  {p}
                </SelectOption>
              ))}
            </SelectList>
          </Select>
        </ToolbarFilter>
        <ToolbarItem>
          <TextInput
            aria-label="Namespace"
            placeholder="All namespaces"
            value={nsInput}
            onChange={(_e, v) => setNsInput(v)}
            data-testid="namespace-filter"
          />
        </ToolbarItem>
        <ToolbarItem>
          <TextInput
            aria-label="Filter by label selector"
            placeholder="Labels, e.g. team=nlp"
            value={filter.labels}
            validated={selectorValid ? 'default' : 'error'}
            onChange={(_e, v) => update({ labels: v })}
            data-testid="label-filter"
          />
        </ToolbarItem>
        <ToolbarGroup variant="action-group">
          <ToolbarItem>
            <Button variant="primary" onClick={() => nav('/create')}>
              Create job
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="secondary" isDanger isDisabled={!selectedKeys.length} onClick={() => setConfirm(true)}>
              Delete{selectedKeys.length ? ` (${selectedKeys.length})` : ''}
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button
              variant="secondary"
              isDisabled={selectedKeys.length !== 2}
              onClick={() => nav(`/compare?a=${encodeURIComponent(selectedKeys[0])}&b=${encodeURIComponent(selectedKeys[1])}`)}
            >
              Compare
            </Button>
          </ToolbarItem>
        </ToolbarGroup>
        <ToolbarItem alignSelf="center">
          <Label
            color={connection === 'live' ? 'green' : connection === 'failed' ? 'red' : 'orange'}
            isCompact
            data-testid="watch-status"
          >
            {connection === 'live' ? 'Live' : connection === 'failed' ? 'Disconnected' : connection === 'connecting' ? 'Connecting' : 'Reconnecting'}
          </Label>
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <Pagination
            itemCount={sorted.length}
            page={paged.page}
            perPage={perPage}
            onSetPage={(_e, p) => setPage(p)}
            onPerPageSelect={(_e, pp) => {
              setPerPage(pp);
              setPage(1);
            }}
            isCompact
            titles={{ paginationAriaLabel: 'Job list pagination (top)' }}
          />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          Training jobs
        </Title>
      </PageSection>
      <PageSection>
        {error && connection === 'failed' && <Alert variant="danger" isInline title={`Cannot watch jobs: ${error.message}`} />}
        {actionError && <Alert variant="danger" isInline title={actionError} />}
        {toolbar}
        {!state.synced && state.jobs.size === 0 ? (
          <Spinner aria-label="Loading jobs" />
        ) : state.jobs.size === 0 ? (
          <EmptyState titleText="No training jobs yet" headingLevel="h2">
            <EmptyStateBody>Create an MPIJob to run a distributed training program on several workers.</EmptyStateBody>
            <EmptyStateFooter>
              <EmptyStateActions>
                <Button onClick={() => nav('/create')}>Create job</Button>
                <Button variant="link" onClick={() => nav('/guide')}>
                  Which job type do I need?
                </Button>
              </EmptyStateActions>
            </EmptyStateFooter>
          </EmptyState>
        ) : (
          <>
            <p className="pf-v6-screen-reader" aria-live="polite" data-testid="result-count">
              {sorted.length} of {state.jobs.size} jobs shown
            </p>
            <JobTable jobs={paged.items} now={now} sort={sort} onSort={setSort} selected={selected} onSelect={onSelect} />
            {sorted.length === 0 && (
              <EmptyState titleText="No jobs match the filters" headingLevel="h2" variant="sm">
                <EmptyStateFooter>
                  <Button variant="link" onClick={() => update({ search: '', phases: [], labels: '' })}>
                    Clear all filters
                  </Button>
                </EmptyStateFooter>
              </EmptyState>
            )}
            <Pagination
              itemCount={sorted.length}
              page={paged.page}
              perPage={perPage}
              onSetPage={(_e, p) => setPage(p)}
              onPerPageSelect={(_e, pp) => {
                setPerPage(pp);
                setPage(1);
              }}
              variant="bottom"
              titles={{ paginationAriaLabel: 'Job list pagination (bottom)' }}
            />
          </>
        )}
      </PageSection>
      {confirm && (
        <ConfirmDelete names={selectedKeys} onConfirm={deleteSelected} onClose={() => setConfirm(false)} />
      )}
    </>
  );
}
