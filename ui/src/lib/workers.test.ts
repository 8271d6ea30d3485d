import { describe, expect, it } from 'vitest';
import type { ReplicaStatus } from '../api/types';
import { countsText, groupWorkers, NO_NODE, parseWorkerQuery, summary } from './workers';

const w = (index: number, state: string, node?: string, reason?: string): ReplicaStatus => ({ name: `worker-${index}`, index, state, node, reason });
const ws = [w(0, 'Running', 'gpu-1'), w(1, 'Failed', 'gpu-2', 'OOMKilled'), w(2, 'Pending'), w(10, 'Succeeded', 'gpu-10'), w(11, 'Running', 'gpu-2')];
const match = (q: string) => ws.filter(parseWorkerQuery(q).test).map((r) => r.index);

describe('parseWorkerQuery', () => {
  it('matches indexes, ranges, lists and worker names', () => {
    expect(match('10')).toEqual([10]);
    expect(match('worker-1')).toEqual([1]);
    expect(match('0-2')).toEqual([0, 1, 2]);
    expect(match('11-10')).toEqual([10, 11]);
    expect(match('0,10-11')).toEqual([0, 10, 11]);
  });
  it('matches state:, node:, reason: and free text; all terms must match', () => {
    expect(match('state:running')).toEqual([0, 11]);
    expect(match('node:gpu-2')).toEqual([1, 11]);
    expect(match('reason:oom')).toEqual([1]);
    expect(match('running gpu-2')).toEqual([11]);
    expect(match('')).toEqual([0, 1, 2, 10, 11]);
  });
  it('explains a term it cannot read', () => {
    expect(parseWorkerQuery('state:').error).toBe('state: needs a value, e.g. state:failed');
    expect(parseWorkerQuery('index:1-x').error).toMatch(/is not an index/);
  });
});

describe('groups and summary', () => {
  it('groups by state with problems first, and by node with workers without a node last', () => {
    expect(groupWorkers(ws, 'state').map((g) => `${g.label}:${g.workers.length}`)).toEqual(['Failed:1', 'Running:2', 'Pending:1', 'Succeeded:1']);
    expect(groupWorkers(ws, 'node').map((g) => g.label)).toEqual(['gpu-1', 'gpu-2', 'gpu-10', NO_NODE]);
    expect(groupWorkers(ws, 'node')[1].counts).toEqual({ Failed: 1, Running: 1 });
    expect(groupWorkers(ws, 'none')).toHaveLength(1);
  });
  it('sums up', () => {
    expect(summary(ws)).toBe('5 workers on 3 nodes: 1 Failed, 2 Running, 1 Pending, 1 Succeeded');
    expect(countsText({ Running: 1200 })).toBe('1,200 Running');
  });
});
