import { describe, expect, it } from 'vitest';
import { job } from '../test/mockApi';
import { filterJobs, matchesSelector, paginate, parseSelector, sortJobs } from './listFilter';

const jobs = [
  job('mnist-a', 'Running', { metadata: { labels: { team: 'nlp' }, creationTimestamp: '2025-01-01T00:00:03Z' }, status: { startTime: '2025-01-01T00:00:00Z' } }),
  job('mnist-b', 'Failed', { metadata: { labels: { team: 'cv', tier: 'prod' }, creationTimestamp: '2025-01-01T00:00:01Z' }, status: { startTime: '2025-01-01T00:00:00Z', completionTime: '2025-01-01T00:10:00Z' } }),
  job('resnet', 'Succeeded', { metadata: { creationTimestamp: '2025-01-01T00:00:02Z' }, status: { startTime: '2025-01-01T00:00:00Z', completionTime: '2025-01-01T00:01:00Z' } }, 'team-b'),
];
const names = (js: typeof jobs) => js.map((j) => j.metadata?.name);

describe('label selectors', () => {
  it('parses equality, inequality and existence', () => {
    expect(parseSelector('team=nlp, tier!=prod,gpu,!debug')).toEqual([
      { key: 'team', op: '=', value: 'nlp' },
      { key: 'tier', op: '!=', value: 'prod' },
      { key: 'gpu', op: 'exists' },
      { key: 'debug', op: '!exists' },
    ]);
    expect(parseSelector('a in (b)')).toBeNull();
    expect(matchesSelector({ team: 'nlp' }, parseSelector('team==nlp,!tier')!)).toBe(true);
    expect(matchesSelector({ team: 'nlp', tier: 'prod' }, parseSelector('tier!=prod')!)).toBe(false);
  });
});

describe('filterJobs', () => {
  it('filters by name search, status and labels', () => {
    expect(names(filterJobs(jobs, { search: 'MNIST', phases: [], labels: '' }))).toEqual(['mnist-a', 'mnist-b']);
    expect(names(filterJobs(jobs, { search: 'team-b', phases: [], labels: '' }))).toEqual(['resnet']);
    expect(names(filterJobs(jobs, { search: '', phases: ['Failed', 'Succeeded'], labels: '' }))).toEqual(['mnist-b', 'resnet']);
    expect(names(filterJobs(jobs, { search: '', phases: [], labels: 'team' }))).toEqual(['mnist-a', 'mnist-b']);
    expect(names(filterJobs(jobs, { search: 'mnist', phases: ['Running'], labels: 'team=nlp' }))).toEqual(['mnist-a']);
  });
  it('ignores an invalid selector rather than hiding everything', () => {
    expect(filterJobs(jobs, { search: '', phases: [], labels: 'a in (' })).toHaveLength(3);
  });
});

describe('sortJobs', () => {
  const now = Date.parse('2025-01-01T00:30:00Z');
  it('sorts by name, created, status and duration, both ways', () => {
    expect(names(sortJobs(jobs, { key: 'name', dir: 'desc' }, now))).toEqual(['resnet', 'mnist-b', 'mnist-a']);
    expect(names(sortJobs(jobs, { key: 'created', dir: 'asc' }, now))).toEqual(['mnist-b', 'resnet', 'mnist-a']);
    expect(names(sortJobs(jobs, { key: 'status', dir: 'asc' }, now))).toEqual(['mnist-b', 'mnist-a', 'resnet']);
    // mnist-a is still running: 30 minutes so far.
    expect(names(sortJobs(jobs, { key: 'duration', dir: 'desc' }, now))).toEqual(['mnist-a', 'mnist-b', 'resnet']);
  });
  it('does not reorder its input', () => {
    const copy = [...jobs];
    sortJobs(jobs, { key: 'name', dir: 'desc' }, now);
    expect(jobs).toEqual(copy);
  });
});

describe('paginate', () => {
  it('clamps the page', () => {
    const xs = Array.from({ length: 45 }, (_, i) => i);
    expect(paginate(xs, 3, 20)).toEqual({ items: [40, 41, 42, 43, 44], page: 3 });
    expect(paginate(xs, 9, 20).page).toBe(3);
    expect(paginate([], 2, 20)).toEqual({ items: [], page: 1 });
  });
});
