import {
  Alert,
  Button,
  Card,
  CardBody,
  CardTitle,
  CodeBlock,
  CodeBlockCode,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  FlexItem,
  Grid,
  GridItem,
  PageSection,
  Spinner,
  Tab,
  Tabs,
  TabTitleText,
  Title,
  EmptyState,
  EmptyStateBody,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useApi } from '../api/context';
import type { Api } from '../api/client';
import type { CanIResponse, JobEvent, MPIJob, ResourceTotals } from '../api/types';
import { ConfirmDelete } from '../components/ConfirmDelete';
import { ErrorSummary } from '../components/ErrorSummary';
import { LogPanel } from '../components/LogPanel';
import { ResourceCharts } from '../components/ResourceCharts';
import { StatusLabel } from '../components/StatusLabel';
import { replicasOf, Topology } from '../components/Topology';
import { WorkerTable } from '../components/WorkerTable';
import { useJobWatch, useNow } from '../hooks';
import { joinCommand } from '../lib/form';
import { errorSummary } from '../lib/hints';
import { durationMs, formatDuration, formatTime, isTerminal, phaseOf } from '../lib/status';
import { jobToYaml } from '../lib/yaml';
import { formatCPU, formatMemory, parseQuantity } from '../lib/quantity';
import { formatCount } from '../lib/workers';
import { Link, useLocation, useNavigate } from '../router';

const TABS = ['overview', 'logs', 'events', 'history', 'yaml'] as const;
type TabKey = (typeof TABS)[number];

/** totalsText shows what the job requests in total in units people read: 19.5Gi, not 20000Mi. */
export function totalsText(req: ResourceTotals): string {
  const mem = parseQuantity(req.memory);
  const cpu = parseQuantity(req.cpu);
  return [
    `${formatCount(req.gpus ?? 0)} GPUs`,
    `${cpu === null ? req.cpu : formatCount(Number(formatCPU(cpu)))} CPU`,
    `${mem === null ? req.memory : formatMemory(mem, 1)} memory`,
    `${formatCount(req.slots ?? 0)} ranks`,
  ].join(', ');
}

function Overview({ job, now, onSelectReplica }: { job: MPIJob; now: number; onSelectReplica: (i: number) => void }) {
  const s = job.status ?? {};
  const spec = job.spec ?? {};
  const replicas = spec.workers?.replicas ?? 1;
  const { launcher, workers } = useMemo(() => replicasOf(job.status, replicas), [job.status, replicas]);
  const [query, setQuery] = useState('');
  const req = s.requested;
  const dl = (term: string, value: React.ReactNode) => (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{value || '—'}</DescriptionListDescription>
    </DescriptionListGroup>
  );
  return (
    <Grid hasGutter>
      <GridItem lg={5}>
        <Card isCompact>
          <CardTitle component="h2">Details</CardTitle>
          <CardBody>
            <DescriptionList isCompact isHorizontal>
              {dl('Phase', <StatusLabel phase={phaseOf(job)} />)}
              {dl('Reason', s.reason)}
              {dl('Message', s.message && <span className="odh-wrap">{s.message}</span>)}
              {s.phase === 'Queued' && s.queuePosition ? dl('Queue position', s.queuePosition) : null}
              {dl('Namespace', job.metadata?.namespace)}
              {dl('Created by', job.metadata?.creator)}
              {dl('Created', formatTime(job.metadata?.creationTimestamp))}
              {dl('Started', formatTime(s.startTime))}
              {dl('Finished', formatTime(s.completionTime))}
              {dl('Duration', formatDuration(durationMs(job, now)))}
              {dl('Attempts', s.attempts)}
              {dl('Image', spec.image)}
              {dl('Command', spec.command && <code>{joinCommand(spec.command)}</code>)}
              {dl('MPI implementation', spec.mpiImplementation)}
              {dl('Workers', `${formatCount(replicas)} × ${spec.workers?.slotsPerWorker ?? 1} slot(s)`)}
              {dl('Requested in total', req && <span data-testid="requested-total">{totalsText(req)}</span>)}
              {dl(
                'Labels',
                Object.entries(job.metadata?.labels ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', '),
              )}
            </DescriptionList>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem lg={7}>
        <Card isCompact>
          <CardTitle component="h2">Resource usage</CardTitle>
          <CardBody>
            <ResourceCharts namespace={job.metadata?.namespace ?? ''} name={job.metadata?.name ?? ''} phase={phaseOf(job)} />
          </CardBody>
        </Card>
      </GridItem>
      <GridItem span={12}>
        <Card isCompact>
          <CardTitle component="h2">Worker topology</CardTitle>
          <CardBody>
            <Topology launcher={launcher} workers={workers} query={query} onQueryChange={setQuery} onSelect={onSelectReplica} />
          </CardBody>
        </Card>
      </GridItem>
      <GridItem span={12}>
        <WorkerTable launcher={launcher} workers={workers} query={query} onSelect={onSelectReplica} />
      </GridItem>
    </Grid>
  );
}

function Events({ job }: { job: MPIJob }) {
  const api = useApi();
  const [events, setEvents] = useState<JobEvent[]>();
  const [error, setError] = useState<string>();
  const ns = job.metadata?.namespace ?? '';
  const name = job.metadata?.name ?? '';
  const rv = job.metadata?.resourceVersion;
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      api.listEvents(ns, name).then(
        (e) => live && setEvents(e),
        (e: Error) => live && setError(e.message),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, ns, name, rv]);
  if (error) return <Alert variant="danger" isInline title={`Cannot load events: ${error}`} />;
  if (!events) return <Spinner aria-label="Loading events" />;
  if (!events.length) return <Content component="p">No events recorded.</Content>;
  return (
    <Table aria-label="Events" variant="compact" data-testid="events-table">
      <Thead>
        <Tr>
          <Th>Type</Th>
          <Th>Reason</Th>
          <Th>Object</Th>
          <Th>Message</Th>
          <Th>Count</Th>
          <Th>Last seen</Th>
        </Tr>
      </Thead>
      <Tbody>
        {events.map((e, i) => (
          <Tr key={i}>
            <Td dataLabel="Type">{e.type === 'Warning' ? <strong>Warning</strong> : e.type}</Td>
            <Td dataLabel="Reason">{e.reason}</Td>
            <Td dataLabel="Object">{e.object}</Td>
            <Td dataLabel="Message">{e.message}</Td>
            <Td dataLabel="Count">{e.count ?? 1}</Td>
            <Td dataLabel="Last seen">{formatTime(e.lastTime ?? e.firstTime)}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

function History({ job }: { job: MPIJob }) {
  const h = job.status?.history ?? [];
  if (!h.length) return <Content component="p">No transitions recorded yet.</Content>;
  return (
    <Table aria-label="Status history" variant="compact" data-testid="history-table">
      <Thead>
        <Tr>
          <Th>Time</Th>
          <Th>Phase</Th>
          <Th>Reason</Th>
          <Th>Message</Th>
        </Tr>
      </Thead>
      <Tbody>
        {h.map((t, i) => (
          <Tr key={i}>
            <Td dataLabel="Time">{formatTime(t.time)}</Td>
            <Td dataLabel="Phase">
              <StatusLabel phase={t.phase} compact />
            </Td>
            <Td dataLabel="Reason">{t.reason}</Td>
            <Td dataLabel="Message">{t.message}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

/**
 * useJobAccess asks the server whether the caller may change (suspend,
 * resume) and delete this job — on a cluster only its creator and MLOps
 * engineers may — so the page offers only actions that will succeed. Until
 * the answer arrives, or when the server cannot answer, actions stay
 * offered and the server decides.
 */
function useJobAccess(api: Api, namespace: string, name: string) {
  const [access, setAccess] = useState<{ update?: CanIResponse; delete?: CanIResponse }>({});
  useEffect(() => {
    const canI = api.canI?.bind(api);
    if (!canI) return;
    let live = true;
    Promise.all([canI(namespace, 'update', 'mpijobs', name), canI(namespace, 'delete', 'mpijobs', name)])
      .then(([update, del]) => live && setAccess({ update, delete: del }))
      .catch(() => live && setAccess({}));
    return () => {
      live = false;
    };
  }, [api, namespace, name]);
  return access;
}

/** JobDetailPage: one job, live from a watch on that job. */
export function JobDetailPage({ namespace, name, isDark }: { namespace: string; name: string; isDark?: boolean }) {
  const api = useApi();
  const nav = useNavigate();
  const { query } = useLocation();
  const { state, error } = useJobWatch({ namespace, name });
  const now = useNow(1000);
  const job = state.jobs.get(`${namespace}/${name}`);
  const tab = (TABS as readonly string[]).includes(query.get('tab') ?? '') ? (query.get('tab') as TabKey) : 'overview';
  const source = query.get('source') ?? 'launcher';
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const access = useJobAccess(api, namespace, name);
  const mayUpdate = access.update?.allowed !== false;
  const mayDelete = access.delete?.allowed !== false;

  const base = `/jobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  const go = useCallback(
    (t: TabKey, src?: string) => {
      const q = new URLSearchParams();
      if (t !== 'overview') q.set('tab', t);
      if (t === 'logs') q.set('source', src ?? source);
      const qs = q.toString();
      window.history.replaceState(null, '', qs ? `${base}?${qs}` : base);
      window.dispatchEvent(new PopStateEvent('popstate'));
    },
    [base, source],
  );
  // Stable, so that the worker map and table (memoized) do not re-render every second with the clock.
  const selectReplica = useCallback((i: number) => go('logs', i < 0 ? 'launcher' : `worker-${i}`), [go]);

  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await f();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const heading = (
    <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
      {name}
    </Title>
  );
  if (!job) {
    return (
      <>
        <PageSection>
          <Content component="p">
            <Link to="/">Training jobs</Link> › {namespace}
          </Content>
          {heading}
        </PageSection>
        <PageSection>
          {error && <Alert variant="danger" isInline title={error.message} />}
          {state.synced ? (
            <EmptyState titleText="Job not found" headingLevel="h2">
              <EmptyStateBody>
                {namespace}/{name} does not exist or was deleted. <Link to="/">Back to the job list</Link>
              </EmptyStateBody>
            </EmptyState>
          ) : (
            <Spinner aria-label="Loading job" />
          )}
        </PageSection>
      </>
    );
  }
  const phase = phaseOf(job);
  const running = !isTerminal(phase);
  const replicas = job.spec?.workers?.replicas ?? 1;

  return (
    <>
      <PageSection>
        <Content component="p">
          <Link to="/">Training jobs</Link> › {namespace}
        </Content>
        <Flex alignItems={{ default: 'alignItemsCenter' }} spaceItems={{ default: 'spaceItemsMd' }}>
          <FlexItem>{heading}</FlexItem>
          <FlexItem data-testid="detail-phase">
            <StatusLabel phase={phase} />
          </FlexItem>
          {job.status?.reason && job.status.reason !== phase && <FlexItem>{job.status.reason}</FlexItem>}
          <FlexItem align={{ default: 'alignRight' }}>
            <Flex spaceItems={{ default: 'spaceItemsSm' }}>
              <Button variant="primary" onClick={() => nav(`/create?from=${encodeURIComponent(`${namespace}/${name}`)}`)}>
                Clone and modify
              </Button>
              {phase === 'Suspended' ? (
                <Button variant="secondary" isDisabled={busy || !mayUpdate} onClick={() => act(() => api.resumeJob(namespace, name))}>
                  Resume
                </Button>
              ) : (
                <Button
                  variant="secondary"
                  isDisabled={busy || !mayUpdate || !running || phase === 'Deleting'}
                  onClick={() => act(() => api.suspendJob(namespace, name))}
                >
                  Suspend
                </Button>
              )}
              <Button variant="secondary" onClick={() => nav(`/compare?a=${encodeURIComponent(`${namespace}/${name}`)}`)}>
                Compare
              </Button>
              <Button variant="danger" isDisabled={busy || !mayDelete} onClick={() => setConfirm(true)}>
                Delete
              </Button>
            </Flex>
          </FlexItem>
        </Flex>
        {(!mayUpdate || !mayDelete) && (
          <Content component="p" className="odh-wrap" data-testid="detail-access">
            {(!mayUpdate ? access.update?.reason : access.delete?.reason) || 'You may not change or delete this job.'}
          </Content>
        )}
        {job.status?.message && !errorSummary(job) && (
          <Content component="p" className="odh-wrap">
            {job.status.message}
          </Content>
        )}
      </PageSection>
      <PageSection>
        {actionError && <Alert variant="danger" isInline title={actionError} />}
        <ErrorSummary job={job} />
        <Tabs activeKey={tab} onSelect={(_e, k) => go(k as TabKey)} aria-label="Job details" role="region" mountOnEnter unmountOnExit>
          <Tab eventKey="overview" title={<TabTitleText>Overview</TabTitleText>}>
            <div className="pf-v6-u-pt-md">
              <Overview job={job} now={now} onSelectReplica={selectReplica} />
            </div>
          </Tab>
          <Tab eventKey="logs" title={<TabTitleText>Logs</TabTitleText>}>
            <div className="pf-v6-u-pt-md">
              <LogPanel
                namespace={namespace}
                name={name}
                workers={replicas}
                running={running}
                source={source}
                onSourceChange={(s) => go('logs', s)}
                isDark={isDark}
              />
            </div>
          </Tab>
          <Tab eventKey="events" title={<TabTitleText>Events</TabTitleText>}>
            <div className="pf-v6-u-pt-md">
              <Events job={job} />
            </div>
          </Tab>
          <Tab eventKey="history" title={<TabTitleText>Status history</TabTitleText>}>
            <div className="pf-v6-u-pt-md">
              <History job={job} />
            </div>
          </Tab>
          <Tab eventKey="yaml" title={<TabTitleText>YAML</TabTitleText>}>
            <div className="pf-v6-u-pt-md">
              <CodeBlock>
                <CodeBlockCode>{jobToYaml(job)}</CodeBlockCode>
              </CodeBlock>
            </div>
          </Tab>
        </Tabs>
      </PageSection>
      {confirm && (
        <ConfirmDelete
          names={[name]}
          onClose={() => setConfirm(false)}
          onConfirm={async () => {
            await api.deleteJob(namespace, name);
            setConfirm(false);
            nav('/');
          }}
        />
      )}
    </>
  );
}
