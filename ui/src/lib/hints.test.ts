import { describe, expect, it } from 'vitest';
import { job } from '../test/mockApi';
import { errorSummary, HINTS } from './hints';

const REASONS = [
  'RankFailed',
  'ExecutableNotFound',
  'DeadlineExceeded',
  'BackoffLimitExceeded',
  'ServerRestarted',
  'Unschedulable',
  'ImagePullError',
  'QuotaExceeded',
  'OOMKilled',
  'Evicted',
  'MPIImplementationNotInstalled',
];

describe('error summary hints', () => {
  it.each(REASONS)('has troubleshooting steps for %s', (reason) => {
    const s = errorSummary(job('x', 'Failed', { status: { reason, message: 'boom' } }));
    expect(s?.reason).toBe(reason);
    expect(s?.message).toBe('boom');
    expect(s?.hint).toBe(HINTS[reason]);
    expect(s?.hint?.steps.length).toBeGreaterThan(0);
  });
  it('says nothing about a healthy job', () => {
    expect(errorSummary(job('x', 'Running'))).toBeNull();
    expect(errorSummary(job('x', 'Succeeded', { status: { reason: 'Succeeded' } }))).toBeNull();
  });
  it('uses a replica reason when the job reason has no hint', () => {
    const s = errorSummary(
      job('x', 'Failed', {
        status: { reason: 'WorkerFailed', workerStatuses: [{ name: 'worker-1', index: 1, state: 'Failed', reason: 'OOMKilled', exitCode: 137 }] },
      }),
    );
    expect(s?.reason).toBe('WorkerFailed');
    expect(s?.replicas.map((r) => r.name)).toEqual(['worker-1']);
  });
  it('warns about an evicted or OOM-killed worker while the job still runs', () => {
    const s = errorSummary(
      job('x', 'Running', { status: { workerStatuses: [{ name: 'worker-0', index: 0, state: 'Running', restarts: 1, reason: 'OOMKilled' }] } }),
    );
    expect(s?.reason).toBe('OOMKilled');
    expect(s?.hint).toBe(HINTS.OOMKilled);
  });
  it('shows a job-level reason with a hint even before the job has failed', () => {
    expect(errorSummary(job('x', 'Pending', { status: { reason: 'Unschedulable', message: 'no node' } }))?.hint).toBe(HINTS.Unschedulable);
  });
});
