import { describe, expect, it } from 'vitest';
import { emptyForm, formToJob, jobToForm } from './form';
import { jobToYaml, yamlToJob } from './yaml';

describe('YAML view', () => {
  it('form → YAML → form is lossless', () => {
    const f = { ...emptyForm(), name: 'pi', command: `sh -c 'echo hi; sleep 2'`, workers: '3', env: 'A=1', labels: 'team=nlp' };
    const { job } = formToJob(f);
    const text = jobToYaml(job);
    expect(text).toContain('apiVersion: training.opendatahub.io/v1alpha1');
    expect(text).toContain('kind: MPIJob');
    expect(text.indexOf('metadata:')).toBeLessThan(text.indexOf('spec:'));
    const r = yamlToJob(text);
    expect(r.ok && !r.upstream && jobToForm(r.job)).toEqual(f);
  });
  it('edits in YAML show up in the form, including fields the form does not have', () => {
    const r = yamlToJob(`
apiVersion: training.opendatahub.io/v1alpha1
kind: MPIJob
metadata: {name: edited}
spec:
  command: [python3, train.py]
  workers: {replicas: 8, resources: {gpus: 1}}
  volumes: [{name: data, mountPath: /data, emptyDir: true}]
`);
    expect(r.ok).toBe(true);
    if (!r.ok || r.upstream) return;
    const f = jobToForm(r.job);
    expect(f).toMatchObject({ name: 'edited', command: 'python3 train.py', workers: '8', gpus: '1' });
    const back = formToJob({ ...f, workers: '2' }, r.job).job;
    expect(back.spec?.volumes).toEqual([{ name: 'data', mountPath: '/data', emptyDir: true }]);
    expect(back.spec?.workers?.replicas).toBe(2);
  });
  it('reports syntax and shape errors', () => {
    expect(yamlToJob('spec: [unclosed')).toMatchObject({ ok: false });
    expect(yamlToJob('- a\n- b')).toMatchObject({ ok: false, error: expect.stringMatching(/mapping/) });
    expect(yamlToJob('kind: TFJob')).toMatchObject({ ok: false, error: expect.stringMatching(/MPIJob/) });
    expect(yamlToJob('spec: {command: python3}')).toMatchObject({ ok: false, error: expect.stringMatching(/list of strings/) });
  });
  it('passes an upstream kubeflow.org MPIJob through as a manifest', () => {
    const text = 'apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: up}\nspec: {}\n';
    expect(yamlToJob(text)).toEqual({ ok: true, upstream: true, manifest: text });
  });
});
