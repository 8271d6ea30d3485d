// Phase presentation shared by the list, the detail page and the topology.
import { PHASES, type JobStatus, type MPIJob } from '../api/types';

export { PHASES };

export type PhaseColor = 'grey' | 'blue' | 'teal' | 'green' | 'red' | 'orange' | 'purple' | 'yellow';

export function phaseColor(phase: string | undefined): PhaseColor {
  switch (phase) {
    case 'Running':
      return 'blue';
    case 'Starting':
      return 'teal';
    case 'Succeeded':
      return 'green';
    case 'Failed':
      return 'red';
    case 'Suspended':
      return 'orange';
    case 'Queued':
      return 'purple';
    case 'Deleting':
      return 'yellow';
    default:
      return 'grey';
  }
}

export function phaseOf(j: MPIJob): string {
  return j.status?.phase || 'Pending';
}

export function isTerminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

export function workersReady(s: JobStatus | undefined, specReplicas: number | undefined): { ready: number; total: number } {
  const total = s?.workers?.total || specReplicas || 1;
  return { ready: s?.workers?.ready ?? 0, total };
}

export function parseTime(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const n = Date.parse(t);
  return Number.isNaN(n) ? undefined : n;
}

/** durationMs is the run time of a job: start to completion, or to now while it runs. */
export function durationMs(j: MPIJob, now: number): number | undefined {
  const start = parseTime(j.status?.startTime);
  if (start === undefined) return undefined;
  const end = parseTime(j.status?.completionTime) ?? (isTerminal(j.status?.phase) ? undefined : now);
  if (end === undefined) return undefined;
  return Math.max(0, end - start);
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatAge(t: string | undefined, now: number): string {
  const ts = parseTime(t);
  if (ts === undefined) return '—';
  return `${formatDuration(Math.max(0, now - ts))} ago`;
}

export function formatTime(t: string | undefined): string {
  const ts = parseTime(t);
  return ts === undefined ? '—' : new Date(ts).toLocaleString();
}
