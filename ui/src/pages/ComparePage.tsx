import {
  Alert,
  Content,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  PageSection,
  Spinner,
  Title,
} from '@patternfly/react-core';
import { useEffect, useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { jobKey, type MPIJob } from '../api/types';
import { diffLines } from '../lib/diff';
import { cleanJob } from '../lib/form';
import { jobToYaml } from '../lib/yaml';
import { useLocation } from '../router';

/** specText is what the comparison shows: the job as it would be created again. */
export function specText(j: MPIJob): string {
  const c = cleanJob(j);
  if (c.metadata) {
    delete c.metadata.name;
    delete c.metadata.namespace;
  }
  return jobToYaml(c);
}

export function DiffTable({ left, right, leftTitle, rightTitle }: { left: string; right: string; leftTitle: string; rightTitle: string }) {
  const rows = useMemo(() => diffLines(left, right), [left, right]);
  const changed = rows.filter((r) => r.kind === 'changed').length;
  return (
    <>
      <Content component="p" aria-live="polite" data-testid="diff-summary">
        {changed === 0 ? 'The specs are identical.' : changed === 1 ? '1 line differs.' : `${changed} lines differ.`}
      </Content>
      <table className="odh-diff" data-testid="diff-table">
        <caption className="pf-v6-screen-reader">
          Differences between {leftTitle} (left) and {rightTitle} (right)
        </caption>
        <thead>
          <tr>
            <th scope="col" className="pf-v6-screen-reader">Line</th>
            <th scope="col">{leftTitle}</th>
            <th scope="col" className="pf-v6-screen-reader">Line</th>
            <th scope="col">{rightTitle}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} data-kind={r.kind}>
              <td className="odh-diff-no">{r.leftNo ?? ''}</td>
              <td className={r.kind === 'changed' && r.left !== undefined ? 'odh-diff-del' : undefined}>
                {r.kind === 'changed' && r.left !== undefined && <span className="pf-v6-screen-reader">changed: </span>}
                {r.left ?? ''}
              </td>
              <td className="odh-diff-no">{r.rightNo ?? ''}</td>
              <td className={r.kind === 'changed' && r.right !== undefined ? 'odh-diff-add' : undefined}>
                {r.kind === 'changed' && r.right !== undefined && <span className="pf-v6-screen-reader">changed: </span>}
                {r.right ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** ComparePage: two jobs' specs side by side. */
export function ComparePage() {
  const api = useApi();
  const { query } = useLocation();
  const [jobs, setJobs] = useState<MPIJob[]>();
  const [error, setError] = useState<string>();
  const [a, setA] = useState(query.get('a') ?? '');
  const [b, setB] = useState(query.get('b') ?? '');
  useEffect(() => {
    api.listJobs().then(
      (js) => {
        js.sort((x, y) => jobKey(x).localeCompare(jobKey(y)));
        setJobs(js);
      },
      (e: Error) => setError(e.message),
    );
  }, [api]);
  const ja = jobs?.find((j) => jobKey(j) === a);
  const jb = jobs?.find((j) => jobKey(j) === b);
  const select = (id: string, label: string, value: string, set: (v: string) => void) => (
    <FormGroup label={label} fieldId={id}>
      <FormSelect id={id} value={value} onChange={(_e, v) => set(v)}>
        <FormSelectOption value="" label="Choose a job…" />
        {(jobs ?? []).map((j) => (
          <FormSelectOption key={jobKey(j)} value={jobKey(j)} label={jobKey(j)} />
        ))}
      </FormSelect>
    </FormGroup>
  );
  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          Compare jobs
        </Title>
        <Content component="p">Pick two jobs to see how their specs differ, e.g. a job and its modified clone.</Content>
      </PageSection>
      <PageSection>
        {error && <Alert variant="danger" isInline title={`Cannot list jobs: ${error}`} />}
        {!jobs && !error ? (
          <Spinner aria-label="Loading jobs" />
        ) : (
          <Grid hasGutter md={6}>
            <GridItem>{select('compare-a', 'Left job', a, setA)}</GridItem>
            <GridItem>{select('compare-b', 'Right job', b, setB)}</GridItem>
            <GridItem span={12}>
              {ja && jb ? (
                <DiffTable left={specText(ja)} right={specText(jb)} leftTitle={a} rightTitle={b} />
              ) : (
                <Content component="p">Choose two jobs.</Content>
              )}
            </GridItem>
          </Grid>
        )}
      </PageSection>
    </>
  );
}
