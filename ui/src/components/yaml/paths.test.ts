import { describe, expect, it } from 'vitest';
import { cursorPath, fieldAt, messageAt, parsePath, rangeOfPath, unknownFields } from './paths';

const JOB = `apiVersion: training.opendatahub.io/v1alpha1
kind: MPIJob
metadata:
  name: pi
  labels:
    a/b: c
spec:
  command:
    - python3
    - pi.py
  env:
    - name: A
      value: b
  workers:
    replicas: 2
`;

const at = (text: string, marker = '|') => cursorPath(text.replace(marker, ''), text.indexOf(marker));

describe('parsePath', () => {
  it('reads keys, indexes and bracketed keys, quoted or not', () => {
    expect(parsePath('spec.command[1]')).toEqual(['spec', 'command', 1]);
    expect(parsePath('metadata.labels["a/b.c"]')).toEqual(['metadata', 'labels', 'a/b.c']);
    expect(parsePath('spec.mpiReplicaSpecs[Worker].replicas')).toEqual(['spec', 'mpiReplicaSpecs', 'Worker', 'replicas']);
  });
});

describe('rangeOfPath', () => {
  const text = (r?: { from: number; to: number }) => r && JOB.slice(r.from, r.to);
  it('finds map entries, sequence items and quoted keys', () => {
    expect(text(rangeOfPath(JOB, 'spec.workers.replicas'))).toBe('replicas: 2');
    expect(text(rangeOfPath(JOB, 'spec.command[1]'))).toBe('pi.py');
    expect(text(rangeOfPath(JOB, 'metadata.labels["a/b"]'))).toBe('a/b: c');
    expect(rangeOfPath(JOB, 'spec.env[0].value')).toMatchObject({ exact: true });
  });
  it('falls back to the closest ancestor for a missing field', () => {
    const r = rangeOfPath(JOB, 'spec.workers.resources.memory');
    expect(r?.exact).toBe(false);
    expect(JOB.slice(r!.from, r!.to)).toMatch(/^workers:/);
    expect(rangeOfPath(JOB, 'status.phase')).toBeUndefined();
    expect(rangeOfPath('spec: [', 'spec')).toBeUndefined();
  });
});

describe('cursorPath', () => {
  it('knows the parent keys of a key being typed', () => {
    expect(at('spec:\n  workers:\n    rep|')).toMatchObject({ path: ['spec', 'workers'], at: 'key', prefix: 'rep' });
    expect(at('|')).toMatchObject({ path: [], at: 'key', prefix: '' });
    expect(at('metadata:\n  name: x\nsp|')).toMatchObject({ path: [], prefix: 'sp' });
  });
  it('follows sequence items, indented or not', () => {
    expect(at('spec:\n  env:\n    - name: A\n      va|')).toMatchObject({ path: ['spec', 'env', '[]'], prefix: 'va' });
    expect(at('spec:\n  env:\n    - na|')).toMatchObject({ path: ['spec', 'env', '[]'], prefix: 'na' });
    expect(at('spec:\n  volumes:\n  - name: d\n    mou|')).toMatchObject({ path: ['spec', 'volumes', '[]'], prefix: 'mou' });
  });
  it('knows a value being typed and its key', () => {
    expect(at('spec:\n  runPolicy:\n    cleanPodPolicy: Ru|')).toMatchObject({ path: ['spec', 'runPolicy'], at: 'value', key: 'cleanPodPolicy', prefix: 'Ru' });
  });
});

describe('schema lookups', () => {
  it('walks messages, arrays and maps', () => {
    expect(Object.keys(messageAt(['spec', 'workers'])!)).toContain('slotsPerWorker');
    expect(Object.keys(messageAt(['spec', 'env', '[]'])!)).toEqual(['name', 'value']);
    expect(messageAt(['spec', 'env'])).toBeUndefined();
    expect(messageAt(['metadata', 'labels'])).toBeUndefined();
    expect(fieldAt(['spec', 'runPolicy', 'cleanPodPolicy'])?.values).toEqual(['None', 'Running', 'All']);
    expect(fieldAt(['spec', 'nope'])).toBeUndefined();
  });
  it('flags keys the API does not have, not free-form maps', () => {
    const u = unknownFields(JOB.replace('replicas: 2', 'replica: 2') + '  volumes:\n    - name: d\n      mountpath: /d\n');
    expect(u.map((x) => x.path)).toEqual(['spec.workers.replica', 'spec.volumes[0].mountpath']);
    expect(u[0].known).toContain('replicas');
    expect(unknownFields(JOB)).toEqual([]);
  });
});
