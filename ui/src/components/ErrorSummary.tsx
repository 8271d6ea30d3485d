import { Alert, Content, List, ListItem } from '@patternfly/react-core';
import type { MPIJob } from '../api/types';
import { errorSummary } from '../lib/hints';

/** ErrorSummary explains a failure and what to try next. */
export function ErrorSummary({ job }: { job: MPIJob }) {
  const s = errorSummary(job);
  if (!s) return null;
  const st = job.status ?? {};
  const failed = job.status?.phase === 'Failed';
  return (
    <Alert
      variant={failed ? 'danger' : 'warning'}
      isInline
      title={s.hint ? `${s.reason}: ${s.hint.title}` : s.reason}
      data-testid="error-summary"
      component="h2"
    >
      {s.message && (
        <Content component="p" className="odh-wrap">
          {s.message}
        </Content>
      )}
      <Content component="p">
        {st.firstFailedWorker !== undefined && <>First failed worker: worker-{st.firstFailedWorker}. </>}
        {st.firstFailedRank !== undefined && <>First failed rank: {st.firstFailedRank}. </>}
        {st.exitCode !== undefined && <>Exit code: {st.exitCode}. </>}
        {st.attempts !== undefined && st.attempts > 1 && <>Attempts: {st.attempts}.</>}
      </Content>
      {s.replicas.length > 0 && (
        <Content component="p">
          Affected:{' '}
          {s.replicas
            .map((r) => `${r.name}${r.reason ? ` (${r.reason}${r.exitCode !== undefined ? `, exit ${r.exitCode}` : ''})` : r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ''}`)
            .join(', ')}
        </Content>
      )}
      {s.hint && (
        <>
          <Content component="h3">What to try</Content>
          <List>
            {s.hint.steps.map((step) => (
              <ListItem key={step}>{step}</ListItem>
            ))}
          </List>
        </>
      )}
    </Alert>
  );
}
