// The creation page's state in one model: what the form holds, the YAML
// view, what the server said (dry run, submit), and what the page shows. A
// reducer, so every transition is a pure function tested without React; the
// hook in useCreateJob.ts adds the effects (loading, dry run, submit).
import type { FieldError, MPIJob, QuotaViolation } from '../../api/types';
import {
  ADVANCED_KEYS,
  cleanJob,
  emptyForm,
  formToJob,
  jobToForm,
  mapFieldErrors,
  type FormKey,
  type JobForm,
  type LocalErrors,
  type MappedErrors,
} from '../../lib/form';
import { jobToYaml, yamlToJob } from '../../lib/yaml';

export type View = 'form' | 'yaml';

export interface SubmitError {
  message: string;
  hint?: string;
  quota: QuotaViolation[];
}

export interface CreateState {
  form: JobForm;
  /** The job the form edits on top of: fields without a control (volumes, tolerations) live here. */
  base?: MPIJob;
  view: View;
  yamlText: string;
  yamlError?: string;
  /** An upstream kubeflow.org manifest from the YAML view, sent as is; the form is read-only meanwhile. */
  manifest: string | null;
  touched: ReadonlySet<FormKey>;
  /** Create was pressed: every error shows, not only those of touched fields. */
  submitted: boolean;
  advanced: boolean;
  serverErrors: FieldError[];
  warnings: string[];
  submitError?: SubmitError;
  busy: boolean;
  notice?: string;
  loadError?: string;
}

export type CreateAction =
  /** A job to start from (clone, template): the form shows it; namespace fills an empty one. */
  | { type: 'load'; job: MPIJob; rename?: boolean; namespace?: string; notice?: string }
  | { type: 'loadFailed'; message: string }
  | { type: 'set'; key: FormKey; value: string | boolean }
  | { type: 'touch'; key: FormKey }
  | { type: 'view'; view: View }
  | { type: 'yaml'; text: string }
  | { type: 'discardManifest' }
  | { type: 'advanced'; open: boolean }
  | { type: 'validated'; warnings: string[] }
  | { type: 'invalid'; errors: FieldError[] }
  | { type: 'submit' }
  | { type: 'submitting' }
  | { type: 'submitFailed'; error: SubmitError; fieldErrors?: FieldError[] }
  | { type: 'submitted' }
  | { type: 'notice'; text?: string };

export function initialCreateState(namespace = 'default'): CreateState {
  return {
    form: emptyForm(namespace),
    view: 'form',
    yamlText: '',
    manifest: null,
    touched: new Set(),
    submitted: false,
    advanced: false,
    serverErrors: [],
    warnings: [],
    busy: false,
  };
}

/** nextName suggests a name for a copy: "train" → "train-2", "train-2" → "train-3". */
export function nextName(name: string): string {
  const m = /^(.*)-(\d+)$/.exec(name);
  return m ? `${m[1]}-${Number(m[2]) + 1}` : `${name}-2`;
}

const touch = (t: ReadonlySet<FormKey>, k: FormKey) => (t.has(k) ? t : new Set(t).add(k));

/** jobOf is the job the state describes (the form on top of base), with local problems. */
export function jobOf(s: CreateState): { job: MPIJob; local: LocalErrors } {
  return formToJob(s.form, s.base);
}

export function createReducer(s: CreateState, a: CreateAction): CreateState {
  switch (a.type) {
    case 'load': {
      const c = cleanJob(a.job);
      if (a.rename && c.metadata?.name) c.metadata.name = nextName(c.metadata.name);
      const form = jobToForm(c);
      if (a.namespace !== undefined) form.namespace = c.metadata?.namespace || a.namespace;
      return { ...s, base: c, form, manifest: null, notice: a.notice ?? s.notice };
    }
    case 'loadFailed':
      return { ...s, loadError: a.message };
    case 'set':
      return { ...s, form: { ...s.form, [a.key]: a.value }, touched: touch(s.touched, a.key), submitError: undefined };
    case 'touch':
      return { ...s, touched: touch(s.touched, a.key) };
    case 'view':
      if (a.view === s.view) return s;
      if (a.view === 'yaml' && !s.manifest) return { ...s, view: a.view, yamlText: jobToYaml(jobOf(s).job), yamlError: undefined };
      return { ...s, view: a.view };
    case 'yaml': {
      const r = yamlToJob(a.text);
      if (!r.ok) return { ...s, yamlText: a.text, yamlError: r.error };
      if (r.upstream) return { ...s, yamlText: a.text, yamlError: undefined, manifest: r.manifest };
      return { ...s, yamlText: a.text, yamlError: undefined, manifest: null, base: r.job, form: jobToForm(r.job) };
    }
    case 'discardManifest':
      return { ...s, manifest: null, yamlText: jobToYaml(jobOf(s).job) };
    case 'advanced':
      return { ...s, advanced: a.open };
    case 'validated':
      return { ...s, serverErrors: [], warnings: a.warnings };
    case 'invalid':
      return { ...s, serverErrors: a.errors };
    case 'submit':
      return { ...s, submitted: true, submitError: undefined };
    case 'submitting':
      return { ...s, busy: true };
    case 'submitFailed':
      return { ...s, busy: false, submitError: a.error, serverErrors: a.fieldErrors ?? s.serverErrors };
    case 'submitted':
      return { ...s, busy: false };
    case 'notice':
      return { ...s, notice: a.text };
  }
}

/** What the page shows for a state: the job, errors per field, and where they are. */
export interface CreateView {
  job: MPIJob;
  local: LocalErrors;
  mapped: MappedErrors;
  namespace: string;
  errorsFor: (k: FormKey) => string[];
  /** Advanced options are open, or forced open because one of their fields has an error after Create. */
  advancedOpen: boolean;
  /** Server errors on fields the form has no control for. */
  otherErrors: { field: string; message: string }[];
}

export function viewOf(s: CreateState): CreateView {
  const { job, local } = jobOf(s);
  const mapped = mapFieldErrors(s.serverErrors);
  const errorsFor = (k: FormKey): string[] => {
    if (!s.submitted && !s.touched.has(k)) return [];
    const out = [...(mapped.byKey[k] ?? [])];
    if (local[k]) out.unshift(local[k]!);
    return out;
  };
  const errorKeys = (Object.keys(mapped.byKey) as FormKey[]).concat(Object.keys(local) as FormKey[]);
  return {
    job,
    local,
    mapped,
    namespace: s.form.namespace.trim() || 'default',
    errorsFor,
    advancedOpen: s.advanced || (s.submitted && errorKeys.some((k) => ADVANCED_KEYS.includes(k))),
    otherErrors: mapped.other.filter((e) => e.message),
  };
}

/** firstErrorField is the form field that comes first among keys, in the form's order. */
export function firstErrorField(form: JobForm, keys: FormKey[]): FormKey | undefined {
  return (Object.keys(form) as FormKey[]).find((k) => keys.includes(k));
}
