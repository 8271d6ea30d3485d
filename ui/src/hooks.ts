import { useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, type WatchOptions } from './api/client';
import { useApi } from './api/context';
import type { WatchEvent } from './api/types';
import { initialWatchState, watchReducer, type WatchState } from './lib/watch';

export type WatchConnection = 'connecting' | 'live' | 'reconnecting' | 'failed';

/**
 * useJobWatch keeps a live map of jobs from the watch stream, reconnecting
 * with backoff (and re-listing) when the stream ends or breaks.
 */
export function useJobWatch(opts: WatchOptions): { state: WatchState; connection: WatchConnection; error?: ApiError } {
  const api = useApi();
  const [state, dispatch] = useReducer(watchReducer, undefined, initialWatchState);
  const [connection, setConnection] = useState<WatchConnection>('connecting');
  const [error, setError] = useState<ApiError>();
  const key = JSON.stringify(opts);
  useEffect(() => {
    const ctl = new AbortController();
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Events are coalesced: the initial list is applied in one render at
    // SYNCED (or every 300 ms while a very long list streams in), later
    // changes at most once per animation frame.
    let pending: WatchEvent[] = [];
    let synced = false;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let frame: number | undefined;
    const flush = () => {
      if (flushTimer) clearTimeout(flushTimer);
      if (frame !== undefined) cancelAnimationFrame(frame);
      flushTimer = undefined;
      frame = undefined;
      if (!pending.length || ctl.signal.aborted) return;
      const events = pending;
      pending = [];
      dispatch({ type: 'events', events });
    };
    const onEvents = (events: WatchEvent[]) => {
      pending.push(...events);
      if (events.some((e) => e.type === 'SYNCED')) {
        synced = true;
        attempt = 0;
        flush();
        setConnection('live');
        setError(undefined);
      } else if (!synced) {
        flushTimer ??= setTimeout(flush, 300);
      } else if (frame === undefined) {
        frame = requestAnimationFrame(flush);
      }
    };
    setConnection('connecting');
    const run = async () => {
      // Every (re)connection re-lists: the jobs shown stay until the new
      // initial list is complete, then jobs that vanished meanwhile go.
      dispatch({ type: 'reconnect' });
      synced = false;
      try {
        await api.watchJobs(opts, onEvents, ctl.signal);
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e instanceof ApiError) {
          setError(e);
          if (e.unauthenticated || e.httpStatus === 403 || e.httpStatus === 404) {
            setConnection('failed');
            return;
          }
        }
      }
      if (ctl.signal.aborted) return;
      flush();
      attempt++;
      setConnection('reconnecting');
      timer = setTimeout(run, Math.min(10000, 250 * 2 ** Math.min(attempt, 6)));
    };
    void run();
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
      if (flushTimer) clearTimeout(flushTimer);
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [api, key]);
  return { state, connection, error };
}

/** useNow re-renders every interval ms (for ages and running durations). */
export function useNow(interval = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), interval);
    return () => clearInterval(t);
  }, [interval]);
  return now;
}

/** useDebounced returns value once it has not changed for ms. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** useFocusOnMount moves keyboard focus to the page heading when a page opens. */
export function useFocusHeading<T extends HTMLElement>(): React.RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return ref;
}
