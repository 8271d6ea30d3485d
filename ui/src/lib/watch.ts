// The job list kept up to date from the watch stream.
import { jobKey, type MPIJob, type WatchEvent } from '../api/types';

export interface WatchState {
  jobs: Map<string, MPIJob>;
  /** The initial list has been received (SYNCED). */
  synced: boolean;
  /** While re-listing after a reconnect, the new list is collected here and swapped in at SYNCED. */
  relist: Map<string, MPIJob> | null;
  /** Bumped on every change; cheap dependency for memoized views. */
  version: number;
}

export type WatchAction = { type: 'events'; events: WatchEvent[] } | { type: 'reconnect' };

export function initialWatchState(): WatchState {
  return { jobs: new Map(), synced: false, relist: null, version: 0 };
}

function rv(j: MPIJob | undefined): number {
  const n = Number(j?.metadata?.resourceVersion);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * watchReducer applies a batch of watch events. Events are applied in order;
 * a MODIFIED older than what is shown (by numeric resourceVersion) is ignored.
 */
export function watchReducer(state: WatchState, action: WatchAction): WatchState {
  if (action.type === 'reconnect') {
    return { ...state, relist: new Map(), synced: false };
  }
  let jobs = state.jobs;
  let relist = state.relist;
  let synced = state.synced;
  let copied = false;
  let relistCopied = false;
  const target = () => {
    if (relist) {
      if (!relistCopied) {
        relist = new Map(relist);
        relistCopied = true;
      }
      return relist;
    }
    if (!copied) {
      jobs = new Map(jobs);
      copied = true;
    }
    return jobs;
  };
  for (const ev of action.events) {
    switch (ev.type) {
      case 'SYNCED':
        if (relist) {
          jobs = relist;
          copied = true;
          relist = null;
        }
        synced = true;
        break;
      case 'ADDED':
      case 'MODIFIED': {
        if (!ev.job) break;
        const m = target();
        const k = jobKey(ev.job);
        const prev = m.get(k);
        if (ev.type === 'MODIFIED' && rv(prev) > rv(ev.job)) break;
        m.set(k, ev.job);
        break;
      }
      case 'DELETED':
        if (ev.job) target().delete(jobKey(ev.job));
        break;
    }
  }
  return { jobs, synced, relist, version: state.version + 1 };
}
