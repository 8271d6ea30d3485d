import { CompletionContext } from '@codemirror/autocomplete';
import { EditorState } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { completeYaml, keyHelp, problemsIn } from './hints';

function complete(text: string, explicit = true) {
  const pos = text.indexOf('|');
  const state = EditorState.create({ doc: text.replace('|', '') });
  return completeYaml(new CompletionContext(state, pos, explicit));
}

describe('completion', () => {
  it('offers the fields of the message at the cursor with their types and help', () => {
    const r = complete('spec:\n  workers:\n    sl|');
    const slots = r!.options.find((o) => o.label === 'slotsPerWorker')!;
    expect(r!.from).toBe('spec:\n  workers:\n    '.length);
    expect(slots).toMatchObject({ detail: 'integer', info: 'MPI ranks per worker (default 1).', apply: 'slotsPerWorker: ' });
    expect(r!.options.find((o) => o.label === 'resources')).toMatchObject({ detail: 'Resources', apply: 'resources:\n      ' });
  });
  it('offers the documented values of a field', () => {
    const r = complete('spec:\n  runPolicy:\n    cleanPodPolicy: |');
    expect(r!.options.map((o) => o.label)).toEqual(['None', 'Running', 'All']);
  });
  it('stays quiet where it knows nothing, and waits for a letter unless asked', () => {
    expect(complete('metadata:\n  labels:\n    te|')).toBeNull();
    expect(complete('spec:\n  |', false)).toBeNull();
    expect(complete('spec:\n  |', true)!.options.length).toBeGreaterThan(5);
  });
});

describe('help on a key', () => {
  it('names the field, its path and what it means', () => {
    const text = 'spec:\n  workers:\n    replicas: 2\n';
    const h = keyHelp(text, text.indexOf('replicas') + 3);
    expect(h).toMatchObject({ path: 'spec.workers.replicas', field: { type: 'integer', description: 'Number of workers (default 1).' } });
    expect(keyHelp(text, text.indexOf('2'))).toBeUndefined();
  });
});

describe('problemsIn', () => {
  it('places a syntax error where the parser stopped', () => {
    const p = problemsIn('spec:\n  command: [a\n', [], true);
    expect(p[0]).toMatchObject({ kind: 'syntax', severity: 'error' });
    expect(p[0].line).toBeGreaterThanOrEqual(2);
  });
});
