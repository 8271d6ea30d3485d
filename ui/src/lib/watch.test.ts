import { describe, expect, it } from 'vitest';
import { job } from '../test/mockApi';
import { initialWatchState, watchReducer } from './watch';

const rv = (name: string, phase: string, v: string) => job(name, phase, { metadata: { name, resourceVersion: v } });

describe('watchReducer', () => {
  it('applies the initial list, then changes', () => {
    let s = initialWatchState();
    s = watchReducer(s, { type: 'events', events: [{ type: 'ADDED', job: rv('a', 'Pending', '1') }, { type: 'ADDED', job: rv('b', 'Running', '2') }] });
    expect(s.synced).toBe(false);
    expect([...s.jobs.keys()]).toEqual(['default/a', 'default/b']);
    s = watchReducer(s, { type: 'events', events: [{ type: 'SYNCED' }] });
    expect(s.synced).toBe(true);
    s = watchReducer(s, { type: 'events', events: [{ type: 'MODIFIED', job: rv('a', 'Succeeded', '3') }, { type: 'DELETED', job: rv('b', 'Running', '4') }] });
    expect(s.jobs.get('default/a')?.status?.phase).toBe('Succeeded');
    expect(s.jobs.has('default/b')).toBe(false);
  });
  it('ignores a MODIFIED older than what it has', () => {
    let s = watchReducer(initialWatchState(), { type: 'events', events: [{ type: 'ADDED', job: rv('a', 'Running', '5') }] });
    s = watchReducer(s, { type: 'events', events: [{ type: 'MODIFIED', job: rv('a', 'Pending', '4') }] });
    expect(s.jobs.get('default/a')?.status?.phase).toBe('Running');
  });
  it('does not mutate the previous state', () => {
    const s0 = watchReducer(initialWatchState(), { type: 'events', events: [{ type: 'ADDED', job: rv('a', 'Running', '1') }] });
    const s1 = watchReducer(s0, { type: 'events', events: [{ type: 'DELETED', job: rv('a', 'Running', '2') }] });
    expect(s0.jobs.size).toBe(1);
    expect(s1.jobs.size).toBe(0);
  });
  it('after a reconnect keeps showing the old list until the new one is complete, then drops vanished jobs', () => {
    let s = watchReducer(initialWatchState(), {
      type: 'events',
      events: [{ type: 'ADDED', job: rv('a', 'Running', '1') }, { type: 'ADDED', job: rv('gone', 'Running', '1') }, { type: 'SYNCED' }],
    });
    s = watchReducer(s, { type: 'reconnect' });
    s = watchReducer(s, { type: 'events', events: [{ type: 'ADDED', job: rv('a', 'Succeeded', '9') }] });
    expect(s.jobs.size).toBe(2);
    expect(s.jobs.get('default/a')?.status?.phase).toBe('Running');
    s = watchReducer(s, { type: 'events', events: [{ type: 'SYNCED' }] });
    expect([...s.jobs.keys()]).toEqual(['default/a']);
    expect(s.jobs.get('default/a')?.status?.phase).toBe('Succeeded');
    expect(s.synced).toBe(true);
  });
});
