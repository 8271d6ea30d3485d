// Troubleshooting hints for the failure reasons the engines report.
import type { MPIJob, ReplicaStatus } from '../api/types';

export interface Hint {
  title: string;
  steps: string[];
}

export const HINTS: Record<string, Hint> = {
  RankFailed: {
    title: 'An MPI rank exited with an error',
    steps: [
      'Open the logs of the failing worker (see "First failed worker" above) and look at its last lines.',
      'Run the same command with 1 worker to tell program errors from MPI or network problems.',
      'Check that every worker can reach the others (MPI uses dynamic TCP ports).',
    ],
  },
  WorkerFailed: {
    title: 'A worker failed',
    steps: ['Open the logs of the failing worker.', 'Check its exit code and reason in the worker table.'],
  },
  LauncherFailed: {
    title: 'The launcher failed',
    steps: ['Open the launcher logs: mpirun prints why it could not start or lost a rank.'],
  },
  ExecutableNotFound: {
    title: 'The command was not found',
    steps: [
      'Check the spelling of the first word of the command and that it is on PATH in the image.',
      'Use an absolute path (e.g. /usr/bin/python3) or set the working directory.',
    ],
  },
  DeadlineExceeded: {
    title: 'The job ran longer than its deadline',
    steps: [
      'Raise Run policy → Active deadline (seconds), or remove it.',
      'Check the logs for a hang: a rank waiting on a collective usually means another rank died or cannot be reached.',
    ],
  },
  BackoffLimitExceeded: {
    title: 'The job failed more often than its retry limit',
    steps: [
      'Look at the first attempt\'s logs ("previous" logs) for the original error.',
      'Fix the cause before raising Run policy → Backoff limit.',
    ],
  },
  ServerRestarted: {
    title: 'The training server restarted while the job ran',
    steps: ['The local engine cannot re-attach to processes after a restart: clone the job and run it again.'],
  },
  Unschedulable: {
    title: 'The workers cannot be scheduled',
    steps: [
      'Lower the resources per worker or the number of workers.',
      'Check node selectors and tolerations, and the free capacity shown on the creation page.',
    ],
  },
  ImagePullError: {
    title: 'The container image cannot be pulled',
    steps: [
      'Check the image name and tag.',
      'For a private registry add an image pull secret to the job.',
    ],
  },
  QuotaExceeded: {
    title: 'The namespace quota is exhausted',
    steps: [
      'Compare the job totals with the quota on the creation page.',
      'Reduce workers, GPUs, CPU or memory per worker, or ask an admin for more quota.',
    ],
  },
  OOMKilled: {
    title: 'A process ran out of memory',
    steps: [
      'Raise Memory per worker (and the memory limit).',
      'Lower the batch size or the ranks per worker (slots).',
    ],
  },
  Evicted: {
    title: 'A worker was evicted from its node',
    steps: ['The node ran short of memory or disk: lower the requests or use nodes with more room, then run the job again.'],
  },
  MPIImplementationNotInstalled: {
    title: 'The chosen MPI implementation is not installed',
    steps: [
      'Pick the MPI implementation your image (or this machine) has under Advanced options → MPI implementation.',
      'Or install it: Open MPI (mpirun) or MPICH (mpiexec).',
    ],
  },
};

export interface ErrorSummaryData {
  reason: string;
  message?: string;
  hint?: Hint;
  replicas: ReplicaStatus[];
}

const REPLICA_REASONS = new Set(['OOMKilled', 'Evicted', 'ImagePullError', 'ImagePullBackOff', 'ErrImagePull']);

function normalizeReason(r: string): string {
  return r === 'ImagePullBackOff' || r === 'ErrImagePull' ? 'ImagePullError' : r;
}

/**
 * errorSummary says what went wrong with a job, if anything: the job's own
 * failure reason, or a replica problem (OOMKilled, Evicted, image pulls)
 * worth showing while the job still runs.
 */
export function errorSummary(job: MPIJob): ErrorSummaryData | null {
  const s = job.status;
  if (!s) return null;
  const replicas = [s.launcher, ...(s.workerStatuses ?? [])].filter(
    (r): r is ReplicaStatus => !!r && (r.state === 'Failed' || REPLICA_REASONS.has(r.reason ?? '')),
  );
  if (s.phase === 'Failed' || (s.reason && HINTS[s.reason] && s.phase !== 'Succeeded')) {
    const reason = s.reason || 'Failed';
    const replicaReason = replicas.map((r) => normalizeReason(r.reason ?? '')).find((r) => HINTS[r]);
    return { reason, message: s.message, hint: HINTS[reason] ?? (replicaReason ? HINTS[replicaReason] : undefined), replicas };
  }
  const r = replicas.find((x) => REPLICA_REASONS.has(x.reason ?? ''));
  if (r) {
    const reason = normalizeReason(r.reason!);
    return { reason, message: r.message || `${r.name}: ${r.reason}`, hint: HINTS[reason], replicas };
  }
  return null;
}
