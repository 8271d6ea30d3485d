// The creation form's state and its two-way mapping to the API's MPIJob.
// The form edits a few well-known fields; everything else a job may carry
// (volumes, tolerations, ...) lives in `base` and survives form edits, so the
// form and the YAML view can be switched freely without losing data.
import { API_VERSION, KIND, type MPIJob } from '../api/types';

export interface JobForm {
  name: string;
  namespace: string;
  image: string;
  command: string;
  workers: string;
  slotsPerWorker: string;
  gpus: string;
  cpu: string;
  memory: string;
  mpiImplementation: string;
  launcherCpu: string;
  launcherMemory: string;
  launcherGpus: string;
  env: string;
  labels: string;
  workingDir: string;
  activeDeadlineSeconds: string;
  backoffLimit: string;
  ttlSecondsAfterFinished: string;
  cleanPodPolicy: string;
  suspend: boolean;
  queue: string;
  priorityClass: string;
}

export type FormKey = keyof JobForm;

export const ADVANCED_KEYS: FormKey[] = [
  'mpiImplementation',
  'launcherCpu',
  'launcherMemory',
  'launcherGpus',
  'env',
  'labels',
  'workingDir',
  'activeDeadlineSeconds',
  'backoffLimit',
  'ttlSecondsAfterFinished',
  'cleanPodPolicy',
  'suspend',
  'queue',
  'priorityClass',
];

export const MPI_IMPLEMENTATIONS = ['OpenMPI', 'Intel', 'MPICH'];
export const CLEAN_POD_POLICIES = ['Running', 'All', 'None'];

export function emptyForm(namespace = 'default'): JobForm {
  return {
    name: '',
    namespace,
    image: '',
    command: '',
    workers: '2',
    slotsPerWorker: '1',
    gpus: '0',
    cpu: '1',
    memory: '1Gi',
    mpiImplementation: 'OpenMPI',
    launcherCpu: '',
    launcherMemory: '',
    launcherGpus: '',
    env: '',
    labels: '',
    workingDir: '',
    activeDeadlineSeconds: '',
    backoffLimit: '',
    ttlSecondsAfterFinished: '',
    cleanPodPolicy: '',
    suspend: false,
    queue: '',
    priorityClass: '',
  };
}

// ---- shell-like command words ---------------------------------------------

/** splitCommand splits a command line into words, honouring '…', "…" and \ escapes. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** joinCommand is the inverse of splitCommand: words with special characters are single-quoted. */
export function joinCommand(words: string[]): string {
  return words
    .map((w) => (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

// ---- key=value lines ------------------------------------------------------

export interface KVParse {
  pairs: [string, string][];
  errors: string[];
}

export function parseKV(text: string): KVParse {
  const pairs: [string, string][] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      errors.push(`line ${i + 1}: expected KEY=VALUE, got "${line}"`);
      return;
    }
    pairs.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  });
  return { pairs, errors };
}

function kvText(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join('\n');
}

// ---- form <-> job -----------------------------------------------------------

/** Local problems the server cannot see (a number field that is not a number). */
export type LocalErrors = Partial<Record<FormKey, string>>;

function intField(v: string, key: FormKey, errs: LocalErrors): number | undefined {
  const s = v.trim();
  if (s === '') return undefined;
  if (!/^-?\d+$/.test(s)) {
    errs[key] = `must be a whole number, got "${v}"`;
    return undefined;
  }
  return Number(s);
}

function setOrDelete<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined | '') {
  if (v === undefined || v === '') delete o[k];
  else o[k] = v;
}

function isEmpty(o: object | undefined): boolean {
  return !o || Object.keys(o).length === 0;
}

/** cleanJob drops server-owned fields so a job can be created again (clone, template). */
export function cleanJob(job: MPIJob): MPIJob {
  const j = structuredClone(job);
  delete j.status;
  if (j.metadata) {
    const { name, generateName, namespace, labels, annotations } = j.metadata;
    j.metadata = { name, generateName, namespace, labels, annotations };
    for (const k of Object.keys(j.metadata) as (keyof typeof j.metadata)[]) {
      if (j.metadata[k] === undefined) delete j.metadata[k];
    }
  }
  return j;
}

/** formToJob builds the job the form describes on top of base (fields the form does not show). */
export function formToJob(f: JobForm, base?: MPIJob): { job: MPIJob; local: LocalErrors } {
  const local: LocalErrors = {};
  const job: MPIJob = base ? cleanJob(base) : {};
  job.apiVersion = API_VERSION;
  job.kind = KIND;
  const meta = (job.metadata ??= {});
  setOrDelete(meta, 'name', f.name.trim());
  if (meta.name) delete meta.generateName;
  setOrDelete(meta, 'namespace', f.namespace.trim());
  const labels = parseKV(f.labels);
  if (labels.errors.length) local.labels = labels.errors.join('; ');
  if (labels.pairs.length) meta.labels = Object.fromEntries(labels.pairs);
  else delete meta.labels;

  const spec = (job.spec ??= {});
  setOrDelete(spec, 'image', f.image.trim());
  const cmd = splitCommand(f.command);
  if (cmd.length) spec.command = cmd;
  else delete spec.command;
  const env = parseKV(f.env);
  if (env.errors.length) local.env = env.errors.join('; ');
  if (env.pairs.length) spec.env = env.pairs.map(([name, value]) => ({ name, value }));
  else delete spec.env;
  setOrDelete(spec, 'workingDir', f.workingDir.trim());
  setOrDelete(spec, 'mpiImplementation', f.mpiImplementation);

  const workers = (spec.workers ??= {});
  setOrDelete(workers, 'replicas', intField(f.workers, 'workers', local));
  setOrDelete(workers, 'slotsPerWorker', intField(f.slotsPerWorker, 'slotsPerWorker', local));
  const wr = (workers.resources ??= {});
  setOrDelete(wr, 'cpu', f.cpu.trim());
  setOrDelete(wr, 'memory', f.memory.trim());
  const g = intField(f.gpus, 'gpus', local);
  setOrDelete(wr, 'gpus', g === 0 ? undefined : g);
  if (isEmpty(wr)) delete workers.resources;

  const launcher = (spec.launcher ??= {});
  const lr = (launcher.resources ??= {});
  setOrDelete(lr, 'cpu', f.launcherCpu.trim());
  setOrDelete(lr, 'memory', f.launcherMemory.trim());
  const lg = intField(f.launcherGpus, 'launcherGpus', local);
  setOrDelete(lr, 'gpus', lg === 0 ? undefined : lg);
  if (isEmpty(lr)) delete launcher.resources;
  if (isEmpty(launcher)) delete spec.launcher;

  const rp = (spec.runPolicy ??= {});
  setOrDelete(rp, 'activeDeadlineSeconds', intField(f.activeDeadlineSeconds, 'activeDeadlineSeconds', local));
  setOrDelete(rp, 'backoffLimit', intField(f.backoffLimit, 'backoffLimit', local));
  setOrDelete(rp, 'ttlSecondsAfterFinished', intField(f.ttlSecondsAfterFinished, 'ttlSecondsAfterFinished', local));
  setOrDelete(rp, 'cleanPodPolicy', f.cleanPodPolicy);
  setOrDelete(rp, 'suspend', f.suspend ? true : undefined);
  if (isEmpty(rp)) delete spec.runPolicy;

  const sc = (spec.scheduling ??= {});
  setOrDelete(sc, 'queue', f.queue.trim());
  setOrDelete(sc, 'priorityClass', f.priorityClass.trim());
  if (isEmpty(sc)) delete spec.scheduling;
  return { job, local };
}

const str = (v: string | number | undefined) => (v === undefined || v === null ? '' : String(v));

/** jobToForm reads the fields the form shows from a job. */
export function jobToForm(job: MPIJob): JobForm {
  const s = job.spec ?? {};
  const w = s.workers ?? {};
  const wr = w.resources ?? {};
  const lr = s.launcher?.resources ?? {};
  const rp = s.runPolicy ?? {};
  return {
    name: job.metadata?.name ?? '',
    namespace: job.metadata?.namespace ?? '',
    image: s.image ?? '',
    command: joinCommand(s.command ?? []),
    workers: str(w.replicas),
    slotsPerWorker: str(w.slotsPerWorker),
    gpus: str(wr.gpus ?? 0),
    cpu: str(wr.cpu),
    memory: str(wr.memory),
    mpiImplementation: s.mpiImplementation ?? '',
    launcherCpu: str(lr.cpu),
    launcherMemory: str(lr.memory),
    launcherGpus: lr.gpus ? String(lr.gpus) : '',
    env: kvText((s.env ?? []).map((e) => [e.name ?? '', e.value ?? ''])),
    labels: kvText(Object.entries(job.metadata?.labels ?? {})),
    workingDir: s.workingDir ?? '',
    activeDeadlineSeconds: str(rp.activeDeadlineSeconds),
    backoffLimit: str(rp.backoffLimit),
    ttlSecondsAfterFinished: str(rp.ttlSecondsAfterFinished),
    cleanPodPolicy: rp.cleanPodPolicy ?? '',
    suspend: !!rp.suspend,
    queue: s.scheduling?.queue ?? '',
    priorityClass: s.scheduling?.priorityClass ?? '',
  };
}

// ---- server field errors -> form fields --------------------------------------

const FIELD_MAP: [RegExp, FormKey][] = [
  [/^metadata\.(name|generateName)$/, 'name'],
  [/^metadata\.namespace$/, 'namespace'],
  [/^metadata\.labels/, 'labels'],
  [/^spec\.image$/, 'image'],
  [/^spec\.command(\[\d+\])?$/, 'command'],
  [/^spec\.workers\.replicas$/, 'workers'],
  [/^spec\.workers\.slotsPerWorker$/, 'slotsPerWorker'],
  [/^spec\.workers\.resources\.(cpu|cpuLimit)$/, 'cpu'],
  [/^spec\.workers\.resources\.(memory|memoryLimit)$/, 'memory'],
  [/^spec\.workers\.resources\.gpus$/, 'gpus'],
  [/^spec\.launcher\.resources\.(cpu|cpuLimit)$/, 'launcherCpu'],
  [/^spec\.launcher\.resources\.(memory|memoryLimit)$/, 'launcherMemory'],
  [/^spec\.launcher\.resources\.gpus$/, 'launcherGpus'],
  [/^spec\.env/, 'env'],
  [/^spec\.workingDir$/, 'workingDir'],
  [/^spec\.mpiImplementation$/, 'mpiImplementation'],
  [/^spec\.runPolicy\.activeDeadlineSeconds$/, 'activeDeadlineSeconds'],
  [/^spec\.runPolicy\.backoffLimit$/, 'backoffLimit'],
  [/^spec\.runPolicy\.ttlSecondsAfterFinished$/, 'ttlSecondsAfterFinished'],
  [/^spec\.runPolicy\.cleanPodPolicy$/, 'cleanPodPolicy'],
  [/^spec\.scheduling\.queue$/, 'queue'],
  [/^spec\.scheduling\.priorityClass$/, 'priorityClass'],
];

export function formKeyForField(field: string): FormKey | undefined {
  for (const [re, key] of FIELD_MAP) if (re.test(field)) return key;
  return undefined;
}

export interface MappedErrors {
  byKey: Partial<Record<FormKey, string[]>>;
  /** Errors on fields the form does not show (volumes, tolerations, ...). */
  other: { field: string; message: string }[];
}

/** mapFieldErrors files each server field error under the form field it belongs to. */
export function mapFieldErrors(errors: { field: string; message: string }[]): MappedErrors {
  const out: MappedErrors = { byKey: {}, other: [] };
  for (const e of errors) {
    const key = formKeyForField(e.field);
    if (key) (out.byKey[key] ??= []).push(e.message);
    else out.other.push(e);
  }
  return out;
}
