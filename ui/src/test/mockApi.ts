// A typed in-memory Api for component tests: every call is a vi.fn, watch and
// log streams stay open until the test ends them or the component aborts.
import { vi } from 'vitest';
import type { Api, WatchOptions } from '../api/client';
import type { LogLine, LogQuery, MPIJob, WatchEvent } from '../api/types';

export interface Stream<T> {
  emit: (items: T[]) => void;
  end: () => void;
  opts: unknown;
}

export interface MockApi extends Api {
  watches: Stream<WatchEvent>[];
  logs: (Stream<LogLine> & { query: LogQuery })[];
}

export function job(name: string, phase = 'Running', extra: Partial<MPIJob> = {}, namespace = 'default'): MPIJob {
  return {
    apiVersion: 'training.opendatahub.io/v1alpha1',
    kind: 'MPIJob',
    metadata: { name, namespace, creationTimestamp: '2025-01-01T00:00:00Z', resourceVersion: '1', ...extra.metadata },
    spec: { command: ['true'], workers: { replicas: 2 }, ...extra.spec },
    status: { phase, workers: { total: 2, ready: phase === 'Running' ? 2 : 0 }, ...extra.status },
  };
}

function stream<T>(onItems: (items: T[]) => void, signal: AbortSignal, list: Stream<T>[], opts: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const s: Stream<T> = { emit: (items) => onItems(items), end: () => resolve(), opts };
    list.push(s);
    signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });
}

export function mockApi(over: Partial<Api> = {}): MockApi {
  const watches: Stream<WatchEvent>[] = [];
  const logs: (Stream<LogLine> & { query: LogQuery })[] = [];
  const api: MockApi = {
    watches,
    logs,
    version: vi.fn(async () => ({ version: 'test', engine: 'local' })),
    listJobs: vi.fn(async () => []),
    getJob: vi.fn(async (ns: string, name: string) => job(name, 'Running', {}, ns)),
    createJob: vi.fn(async (_ns: string, j: MPIJob) => ({ job: j, warnings: [] })),
    createJobFromManifest: vi.fn(async () => ({ job: job('from-manifest') })),
    deleteJob: vi.fn(async () => {}),
    suspendJob: vi.fn(async (ns: string, name: string) => job(name, 'Suspended', {}, ns)),
    resumeJob: vi.fn(async (ns: string, name: string) => job(name, 'Pending', {}, ns)),
    listEvents: vi.fn(async () => []),
    getJobMetrics: vi.fn(async () => ({ available: true, intervalSeconds: 2 })),
    capacity: vi.fn(async () => ({
      source: 'local slots',
      resources: [
        { name: 'cpu', hard: '8', available: '6' },
        { name: 'memory', hard: '32Gi', available: '16Gi' },
        { name: 'slots', hard: '8', available: '8' },
      ],
    })),
    listTemplates: vi.fn(async () => []),
    getTemplate: vi.fn(async (ns: string, name: string) => ({ name, namespace: ns, job: job('from-template') })),
    createTemplate: vi.fn(async (_ns: string, t) => t),
    deleteTemplate: vi.fn(async () => {}),
    watchJobs: vi.fn((opts: WatchOptions, on: (e: WatchEvent[]) => void, signal: AbortSignal) =>
      stream(on, signal, watches, opts),
    ),
    streamLogs: vi.fn((_ns: string, _name: string, query: LogQuery, on: (l: LogLine[]) => void, signal: AbortSignal) => {
      const list: Stream<LogLine>[] = [];
      const p = stream(on, signal, list, query);
      logs.push({ ...list[0], query });
      return p;
    }),
    ...over,
  };
  return api;
}
