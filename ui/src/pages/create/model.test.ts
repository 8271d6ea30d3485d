import { describe, expect, it } from 'vitest';
import { job } from '../../test/mockApi';
import { createReducer, firstErrorField, initialCreateState, nextName, viewOf, type CreateAction, type CreateState } from './model';

const run = (actions: CreateAction[], s: CreateState = initialCreateState()) => actions.reduce(createReducer, s);

describe('create page model', () => {
  it('marks edited fields touched and shows their errors only', () => {
    const s = run([
      { type: 'set', key: 'workers', value: 'two' },
      { type: 'invalid', errors: [{ field: 'metadata.name', message: 'must not be empty' }, { field: 'spec.volumes[0]', message: 'exactly one source' }] },
    ]);
    const v = viewOf(s);
    expect(v.errorsFor('workers')).toEqual(['must be a whole number, got "two"']);
    expect(v.errorsFor('name')).toEqual([]);
    expect(v.otherErrors).toEqual([{ field: 'spec.volumes[0]', message: 'exactly one source' }]);
    // After Create every error shows.
    expect(viewOf(run([{ type: 'submit' }], s)).errorsFor('name')).toEqual(['must not be empty']);
  });

  it('opens the advanced options after Create when one of their fields has an error', () => {
    const s = run([{ type: 'invalid', errors: [{ field: 'spec.runPolicy.backoffLimit', message: 'too many' }] }]);
    expect(viewOf(s).advancedOpen).toBe(false);
    expect(viewOf(run([{ type: 'submit' }], s)).advancedOpen).toBe(true);
  });

  it('round-trips form and YAML, and keeps fields the form has no control for', () => {
    let s = run([
      { type: 'set', key: 'name', value: 'pi' },
      { type: 'view', view: 'yaml' },
    ]);
    expect(s.yamlText).toContain('name: pi');
    s = run([{ type: 'yaml', text: s.yamlText.replace('replicas: 2', 'replicas: 3') + '  volumes:\n    - name: data\n      mountPath: /data\n      emptyDir: true\n' }], s);
    expect(s.yamlError).toBeUndefined();
    expect(s.form.workers).toBe('3');
    s = run([{ type: 'view', view: 'form' }, { type: 'set', key: 'workers', value: '4' }], s);
    expect(viewOf(s).job.spec?.volumes).toEqual([{ name: 'data', mountPath: '/data', emptyDir: true }]);
    expect(viewOf(s).job.spec?.workers?.replicas).toBe(4);
  });

  it('keeps the form when the YAML does not parse, and holds an upstream manifest as is', () => {
    const s0 = run([{ type: 'set', key: 'name', value: 'keep' }, { type: 'view', view: 'yaml' }]);
    const bad = run([{ type: 'yaml', text: 'spec: [' }], s0);
    expect(bad.yamlError).toBeTruthy();
    expect(bad.form.name).toBe('keep');
    const upstream = 'apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata:\n  name: up\n';
    const up = run([{ type: 'yaml', text: upstream }], s0);
    expect(up.manifest).toBe(upstream);
    expect(up.form.name).toBe('keep');
    const back = run([{ type: 'discardManifest' }], up);
    expect(back.manifest).toBeNull();
    expect(back.yamlText).toContain('name: keep');
  });

  it('loads a clone with the next name and a template into the current namespace', () => {
    const clone = run([{ type: 'load', job: job('train-3'), rename: true }]);
    expect(clone.form.name).toBe('train-4');
    expect(clone.base?.status).toBeUndefined();
    const t = job('tpl');
    delete t.metadata!.namespace;
    const fromTemplate = run([{ type: 'load', job: t, namespace: 'team-a', notice: 'Loaded template tpl.' }]);
    expect(fromTemplate.form.namespace).toBe('team-a');
    expect(fromTemplate.notice).toBe('Loaded template tpl.');
  });

  it('keeps a failed submit with its field errors, and clears the error on the next edit', () => {
    let s = run([{ type: 'submit' }, { type: 'submitting' }]);
    expect(s.busy).toBe(true);
    s = run([{ type: 'submitFailed', error: { message: 'quota', quota: [] }, fieldErrors: [{ field: 'spec.workers.replicas', message: 'too many' }] }], s);
    expect(s.busy).toBe(false);
    expect(viewOf(s).errorsFor('workers')).toEqual(['too many']);
    expect(run([{ type: 'set', key: 'workers', value: '1' }], s).submitError).toBeUndefined();
  });

  it('finds the first field with an error in form order', () => {
    const s = initialCreateState();
    expect(firstErrorField(s.form, ['backoffLimit', 'command', 'name'])).toBe('name');
    expect(firstErrorField(s.form, [])).toBeUndefined();
  });

  it('suggests names for copies', () => {
    expect(nextName('a-b')).toBe('a-b-2');
    expect(nextName('a-99')).toBe('a-100');
  });
});
