import { describe, expect, it } from 'vitest';
import { emptyForm, formToJob, jobToForm, joinCommand, mapFieldErrors, parseKV, splitCommand } from './form';

describe('command words', () => {
  it('splits like a shell', () => {
    expect(splitCommand('python3 /workspace/train.py --epochs 10')).toEqual(['python3', '/workspace/train.py', '--epochs', '10']);
    expect(splitCommand(`sh -c "echo hello from rank $R; sleep 2"`)).toEqual(['sh', '-c', 'echo hello from rank $R; sleep 2']);
    expect(splitCommand(`echo 'a b' c\\ d ""`)).toEqual(['echo', 'a b', 'c d', '']);
    expect(splitCommand('   ')).toEqual([]);
  });
  it('joins so that splitting gives the words back', () => {
    const cases = [
      ['sh', '-c', 'echo hello from rank $OMPI_COMM_WORLD_RANK; sleep 2'],
      ['python3', 'train.py', '--lr=0.1'],
      ['echo', "it's", ''],
    ];
    for (const words of cases) expect(splitCommand(joinCommand(words))).toEqual(words);
    expect(joinCommand(['python3', 'train.py'])).toBe('python3 train.py');
  });
});

describe('form <-> job', () => {
  it('builds a job from the form, dropping empty fields', () => {
    const f = { ...emptyForm(), name: 'mnist', command: 'python3 train.py', workers: '4', gpus: '2', cpu: '4', memory: '16Gi' };
    const { job, local } = formToJob(f);
    expect(local).toEqual({});
    expect(job).toEqual({
      apiVersion: 'training.opendatahub.io/v1alpha1',
      kind: 'MPIJob',
      metadata: { name: 'mnist', namespace: 'default' },
      spec: {
        command: ['python3', 'train.py'],
        mpiImplementation: 'OpenMPI',
        workers: { replicas: 4, slotsPerWorker: 1, resources: { cpu: '4', memory: '16Gi', gpus: 2 } },
      },
    });
  });
  it('reports numbers that are not numbers locally', () => {
    const { job, local } = formToJob({ ...emptyForm(), workers: 'four', backoffLimit: '1.5' });
    expect(local.workers).toMatch(/whole number/);
    expect(local.backoffLimit).toMatch(/whole number/);
    expect(job.spec?.workers?.replicas).toBeUndefined();
  });
  it('keeps fields the form does not show (volumes) from the base job', () => {
    const base = { spec: { volumes: [{ name: 'data', mountPath: '/data', emptyDir: true }], command: ['old'] } };
    const { job } = formToJob({ ...emptyForm(), command: 'new' }, base);
    expect(job.spec?.volumes).toEqual(base.spec.volumes);
    expect(job.spec?.command).toEqual(['new']);
  });
  it('round-trips advanced options', () => {
    const f = {
      ...emptyForm('team-a'),
      name: 'x',
      command: 'a b',
      env: 'A=1\nB=two words',
      labels: 'team=nlp',
      activeDeadlineSeconds: '600',
      backoffLimit: '2',
      cleanPodPolicy: 'All',
      suspend: true,
      queue: 'q',
      priorityClass: 'high',
      launcherCpu: '500m',
      launcherMemory: '1Gi',
      mpiImplementation: 'MPICH',
    };
    const { job } = formToJob(f);
    expect(job.spec?.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: 'two words' }]);
    expect(job.metadata?.labels).toEqual({ team: 'nlp' });
    expect(job.spec?.runPolicy).toEqual({ activeDeadlineSeconds: 600, backoffLimit: 2, cleanPodPolicy: 'All', suspend: true });
    expect(jobToForm(job)).toEqual(f);
  });
  it('parses key=value lines with errors per line', () => {
    expect(parseKV('a=1\n\n# c\nb = 2\nbad')).toEqual({ pairs: [['a', '1'], ['b', '2']], errors: ['line 5: expected KEY=VALUE, got "bad"'] });
  });
});

describe('mapFieldErrors', () => {
  it('files server field errors under form fields by path', () => {
    const m = mapFieldErrors([
      { field: 'metadata.name', message: 'bad name' },
      { field: 'spec.workers.resources.memory', message: 'bad memory' },
      { field: 'spec.workers.resources.memoryLimit', message: 'limit too low' },
      { field: 'spec.command[1]', message: 'empty arg' },
      { field: 'spec.env[0].name', message: 'bad env' },
      { field: 'metadata.labels["x"]', message: 'bad label' },
      { field: 'spec.volumes[0].mountPath', message: 'relative' },
    ]);
    expect(m.byKey).toEqual({
      name: ['bad name'],
      memory: ['bad memory', 'limit too low'],
      command: ['empty arg'],
      env: ['bad env'],
      labels: ['bad label'],
    });
    expect(m.other).toEqual([{ field: 'spec.volumes[0].mountPath', message: 'relative' }]);
  });
});
