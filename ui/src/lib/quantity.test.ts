import { describe, expect, it } from 'vitest';
import { capacityRows, computeTotals, formatCPU, formatMemory, parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['16Gi', 16 * 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['2e3', 2000],
    ['', 0],
  ])('%s', (q, n) => expect(parseQuantity(q)).toBeCloseTo(n));
  it('rejects what is not a quantity', () => {
    expect(parseQuantity('lots')).toBeNull();
    expect(parseQuantity('16GB')).toBeNull();
  });
});

describe('resource calculator', () => {
  it('totals = workers × per worker + launcher', () => {
    const t = computeTotals({
      workers: { replicas: 4, slotsPerWorker: 2, resources: { cpu: '4', memory: '16Gi', gpus: 2 } },
      launcher: { resources: { cpu: '500m', memory: '1Gi' } },
    });
    expect(t).toMatchObject({ workers: 4, cpu: 16.5, memory: 65 * 2 ** 30, gpus: 8, slots: 8, invalid: [] });
    expect(formatCPU(t.cpu)).toBe('16.5');
    expect(formatMemory(t.memory)).toBe('65Gi');
  });
  it('defaults to one worker with one slot and counts bad quantities as zero', () => {
    const t = computeTotals({ workers: { resources: { cpu: 'abc' } } });
    expect(t).toMatchObject({ workers: 1, cpu: 0, slots: 1, invalid: ['spec.workers.resources.cpu'] });
  });
  it('compares with the capacity the server reports', () => {
    const t = computeTotals({ workers: { replicas: 4, resources: { cpu: '4', memory: '16Gi', gpus: 2 } } });
    const rows = capacityRows(t, {
      source: 'ResourceQuota team-a/compute',
      resources: [
        { name: 'requests.nvidia.com/gpu', hard: '16', available: '10' },
        { name: 'cpu', hard: '64', available: '12' },
        { name: 'memory', hard: '256Gi', available: '160Gi' },
      ],
    });
    const by = Object.fromEntries(rows.map((r) => [r.kind, r]));
    expect(by.gpus).toMatchObject({ requestedText: '8', availableText: '10', exceeds: false });
    expect(by.cpu).toMatchObject({ requestedText: '16', availableText: '12', hardText: '64', exceeds: true });
    expect(by.memory).toMatchObject({ requestedText: '64Gi', availableText: '160Gi', exceeds: false });
    expect(by.slots).toMatchObject({ requestedText: '4', availableText: undefined, exceeds: false });
  });
});
