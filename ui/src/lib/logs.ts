// Log sources of the log viewer and how lines are shown.
import type { LogLine, LogQuery } from '../api/types';

/** "launcher", "all" or "worker-N". */
export type LogSource = string;

export function logSources(workers: number): { value: LogSource; label: string }[] {
  const out = [
    { value: 'launcher', label: 'Launcher' },
    { value: 'all', label: 'All (launcher and workers, prefixed)' },
  ];
  for (let i = 0; i < workers; i++) out.push({ value: `worker-${i}`, label: `Worker ${i}` });
  return out;
}

/** sourceQuery turns a selected source into the query of GET .../logs. */
export function sourceQuery(source: LogSource, follow: boolean): LogQuery {
  const m = /^worker-(\d+)$/.exec(source);
  if (source === 'all') return { all: true, follow };
  if (m) return { worker: Number(m[1]), follow };
  return { follow };
}

/** formatLine prefixes the source when several are merged ("[worker-1] text"). */
export function formatLine(l: LogLine, prefixed: boolean): string {
  const text = l.text ?? '';
  if (!prefixed) return text;
  const src = l.source || (l.worker === undefined || l.worker < 0 ? 'launcher' : `worker-${l.worker}`);
  return `[${src}] ${text}`;
}

export function downloadName(job: string, source: LogSource): string {
  return `${job}-${source}.log`;
}
