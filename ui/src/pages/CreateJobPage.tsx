import {
  ActionGroup,
  Alert,
  AlertActionCloseButton,
  Button,
  Checkbox,
  ExpandableSection,
  Form,
  FormGroup,
  FormHelperText,
  FormSection,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  List,
  ListItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  PageSection,
  Radio,
  TextArea,
  TextInput,
  Title,
  ToggleGroup,
  ToggleGroupItem,
  Content,
} from '@patternfly/react-core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { useApi } from '../api/context';
import type { Capacity, FieldError, JobTemplate, MPIJob, QuotaViolation } from '../api/types';
import { ResourceCalculator } from '../components/ResourceCalculator';
import { useDebounced } from '../hooks';
import {
  ADVANCED_KEYS,
  CLEAN_POD_POLICIES,
  cleanJob,
  emptyForm,
  formToJob,
  jobToForm,
  mapFieldErrors,
  MPI_IMPLEMENTATIONS,
  type FormKey,
  type JobForm,
} from '../lib/form';
import { jobToYaml, yamlToJob } from '../lib/yaml';
import { jobPath, Link, useLocation, useNavigate } from '../router';

const JOB_TYPES = [
  { value: 'MPIJob', label: 'MPIJob', available: true, description: 'MPI (Horovod, mpi4py, DeepSpeed with MPI) across several workers' },
  { value: 'TFJob', label: 'TFJob', available: false, description: 'TensorFlow distributed training — not available yet' },
  { value: 'PyTorchJob', label: 'PyTorchJob', available: false, description: 'PyTorch torchrun — not available yet' },
  { value: 'Custom', label: 'Custom', available: false, description: 'Your own controller — not available yet' },
];

/** nextName suggests a name for a copy: "train" → "train-2", "train-2" → "train-3". */
export function nextName(name: string): string {
  const m = /^(.*)-(\d+)$/.exec(name);
  return m ? `${m[1]}-${Number(m[2]) + 1}` : `${name}-2`;
}

function splitKey(k: string | null): [string, string] | null {
  if (!k) return null;
  const i = k.indexOf('/');
  return i > 0 ? [k.slice(0, i), k.slice(i + 1)] : null;
}

/** CreateJobPage: the creation form with live resource calculator, YAML view and dry-run validation. */
export function CreateJobPage() {
  const api = useApi();
  const nav = useNavigate();
  const { query } = useLocation();
  const from = splitKey(query.get('from'));
  const fromTemplate = splitKey(query.get('template'));

  const [form, setForm] = useState<JobForm>(() => emptyForm(query.get('namespace') ?? 'default'));
  const [base, setBase] = useState<MPIJob>();
  const [view, setView] = useState<'form' | 'yaml'>('form');
  const [yamlText, setYamlText] = useState('');
  const [yamlError, setYamlError] = useState<string>();
  const [manifest, setManifest] = useState<string | null>(null);
  const [touched, setTouched] = useState<Set<FormKey>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldError[]>([]);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [submitError, setSubmitError] = useState<{ message: string; hint?: string; quota: QuotaViolation[] }>();
  const [busy, setBusy] = useState(false);
  const [capacity, setCapacity] = useState<Capacity>();
  const [capacityError, setCapacityError] = useState<string>();
  const [templates, setTemplates] = useState<JobTemplate[]>([]);
  const [templateModal, setTemplateModal] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [loadError, setLoadError] = useState<string>();

  const { job, local } = useMemo(() => formToJob(form, base), [form, base]);
  const namespace = form.namespace.trim() || 'default';

  // Clone and modify, or start from a template named in the URL.
  useEffect(() => {
    const load = (j: MPIJob, rename: boolean) => {
      const c = cleanJob(j);
      if (rename && c.metadata?.name) c.metadata.name = nextName(c.metadata.name);
      setBase(c);
      setForm(jobToForm(c));
    };
    if (from) {
      api.getJob(from[0], from[1]).then((j) => load(j, true), (e: Error) => setLoadError(e.message));
    } else if (fromTemplate) {
      api.getTemplate(fromTemplate[0], fromTemplate[1]).then(
        (t) => t.job && load({ ...t.job, metadata: { ...t.job.metadata, namespace: t.job.metadata?.namespace ?? t.namespace } }, false),
        (e: Error) => setLoadError(e.message),
      );
    }
  }, [api, query.get('from'), query.get('template')]);

  // Templates and capacity of the chosen namespace.
  const debouncedNs = useDebounced(namespace, 400);
  useEffect(() => {
    let live = true;
    api.listTemplates(debouncedNs).then((t) => live && setTemplates(t), () => live && setTemplates([]));
    api.capacity(debouncedNs).then(
      (c) => {
        if (!live) return;
        setCapacity(c);
        setCapacityError(undefined);
      },
      (e: Error) => {
        if (!live) return;
        setCapacity(undefined);
        setCapacityError(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [api, debouncedNs]);

  // Inline validation: a debounced server dry run of what the form describes.
  const validateKey = useDebounced(manifest ?? JSON.stringify(job), 400);
  const seq = useRef(0);
  useEffect(() => {
    const n = ++seq.current;
    const req = manifest ? api.createJobFromManifest(namespace, manifest, true) : api.createJob(namespace, JSON.parse(validateKey) as MPIJob, true);
    req.then(
      (r) => {
        if (n !== seq.current) return;
        setServerErrors([]);
        setWarnings(r.warnings ?? []);
      },
      (e: unknown) => {
        if (n !== seq.current) return;
        if (e instanceof ApiError) {
          setServerErrors(e.fieldErrors.length ? e.fieldErrors : e.reason === 'Invalid' || e.reason === 'BadRequest' ? [{ field: '', message: e.message }] : []);
        }
      },
    );
  }, [api, validateKey]);

  const mapped = mapFieldErrors(serverErrors);
  const show = (k: FormKey) => submitted || touched.has(k);
  const errorsFor = (k: FormKey): string[] => {
    if (!show(k)) return [];
    const out = [...(mapped.byKey[k] ?? [])];
    if (local[k]) out.unshift(local[k]!);
    return out;
  };
  const allErrorKeys = (Object.keys(mapped.byKey) as FormKey[]).concat(Object.keys(local) as FormKey[]);
  const advancedHasErrors = submitted && allErrorKeys.some((k) => ADVANCED_KEYS.includes(k));

  const set = <K extends FormKey>(k: K, v: JobForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setTouched((t) => (t.has(k) ? t : new Set(t).add(k)));
    setSubmitError(undefined);
  };

  const helper = (k: FormKey, text?: string) => {
    const errs = errorsFor(k);
    if (!errs.length && !text) return null;
    return (
      <FormHelperText>
        <HelperText id={`field-${k}-helper`} aria-live="polite">
          {errs.length
            ? errs.map((e) => (
                <HelperTextItem key={e} variant="error">
                  {e}
                </HelperTextItem>
              ))
            : <HelperTextItem>{text}</HelperTextItem>}
        </HelperText>
      </FormHelperText>
    );
  };

  const text = (k: Exclude<FormKey, 'suspend'>, label: string, opts: { required?: boolean; help?: string; placeholder?: string; type?: 'text' | 'number' } = {}) => (
    <FormGroup label={label} isRequired={opts.required} fieldId={`field-${k}`}>
      <TextInput
        id={`field-${k}`}
        name={k}
        value={form[k]}
        type={opts.type ?? 'text'}
        isRequired={opts.required}
        placeholder={opts.placeholder}
        validated={errorsFor(k).length ? 'error' : 'default'}
        aria-describedby={`field-${k}-helper`}
        onChange={(_e, v) => set(k, v)}
        onBlur={() => setTouched((t) => (t.has(k) ? t : new Set(t).add(k)))}
        isDisabled={!!manifest}
      />
      {helper(k, opts.help)}
    </FormGroup>
  );

  const switchView = (v: 'form' | 'yaml') => {
    if (v === view) return;
    if (v === 'yaml' && !manifest) {
      setYamlText(jobToYaml(job));
      setYamlError(undefined);
    }
    setView(v);
  };

  const onYaml = (t: string) => {
    setYamlText(t);
    const r = yamlToJob(t);
    if (!r.ok) {
      setYamlError(r.error);
      return;
    }
    setYamlError(undefined);
    if (r.upstream) {
      setManifest(r.manifest);
      return;
    }
    setManifest(null);
    setBase(r.job);
    setForm(jobToForm(r.job));
  };

  const focusFirstError = (keys: FormKey[]) => {
    if (keys.some((k) => ADVANCED_KEYS.includes(k))) setAdvanced(true);
    setTimeout(() => {
      const order: FormKey[] = Object.keys(form) as FormKey[];
      const first = order.find((k) => keys.includes(k));
      if (first) document.getElementById(`field-${first}`)?.focus();
      else document.getElementById('create-errors')?.focus();
    }, 50);
  };

  const submit = async () => {
    setSubmitted(true);
    setSubmitError(undefined);
    if (view === 'yaml' && yamlError) return;
    if (Object.keys(local).length) {
      focusFirstError(Object.keys(local) as FormKey[]);
      return;
    }
    setBusy(true);
    try {
      const r = manifest ? await api.createJobFromManifest(namespace, manifest, false) : await api.createJob(namespace, job, false);
      const m = r.job?.metadata;
      nav(jobPath(m?.namespace ?? namespace, m?.name ?? form.name));
    } catch (e) {
      if (e instanceof ApiError) {
        setServerErrors(e.fieldErrors);
        setSubmitError({ message: e.message, hint: e.hint, quota: e.quota });
        const m = mapFieldErrors(e.fieldErrors);
        focusFirstError(Object.keys(m.byKey) as FormKey[]);
      } else {
        setSubmitError({ message: (e as Error).message, quota: [] });
      }
    } finally {
      setBusy(false);
    }
  };

  const title = from ? `Clone and modify ${from[1]}` : 'Create training job';
  const otherErrors = mapped.other.filter((e) => e.message);

  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          {title}
        </Title>
        <Content component="p">
          Not sure which job type fits? Read <Link to="/guide">choosing a job type</Link>.
        </Content>
      </PageSection>
      <PageSection>
        {loadError && <Alert variant="danger" isInline title={`Cannot load: ${loadError}`} />}
        {notice && (
          <Alert variant="success" isInline title={notice} actionClose={<AlertActionCloseButton onClose={() => setNotice(undefined)} />} />
        )}
        <Grid hasGutter>
          <GridItem xl={8} lg={7} md={12}>
            <Form onSubmit={(e) => { e.preventDefault(); void submit(); }} noValidate aria-label="Create training job">
              <FormGroup label="Start from template" fieldId="template-select">
                <FormSelect
                  id="template-select"
                  value=""
                  onChange={(_e, v) => {
                    const t = templates.find((x) => x.name === v);
                    if (t?.job) {
                      const c = cleanJob(t.job);
                      setManifest(null);
                      setBase(c);
                      setForm({ ...jobToForm(c), namespace: c.metadata?.namespace || namespace });
                      setNotice(`Loaded template ${t.name}.`);
                    }
                  }}
                  isDisabled={!templates.length}
                >
                  <FormSelectOption value="" label={templates.length ? 'Choose a template…' : 'No templates in this namespace'} />
                  {templates.map((t) => (
                    <FormSelectOption key={t.name} value={t.name ?? ''} label={t.description ? `${t.name} — ${t.description}` : t.name ?? ''} />
                  ))}
                </FormSelect>
              </FormGroup>

              <ToggleGroup aria-label="Editor view">
                <ToggleGroupItem text="Form" buttonId="view-form" isSelected={view === 'form'} onChange={() => switchView('form')} />
                <ToggleGroupItem text="YAML" buttonId="view-yaml" isSelected={view === 'yaml'} onChange={() => switchView('yaml')} />
              </ToggleGroup>

              {view === 'yaml' ? (
                <FormGroup label="Job YAML" fieldId="job-yaml" className="odh-yaml-editor">
                  <TextArea
                    id="job-yaml"
                    value={yamlText}
                    onChange={(_e, v) => onYaml(v)}
                    resizeOrientation="vertical"
                    spellCheck={false}
                    validated={yamlError ? 'error' : 'default'}
                    aria-describedby="job-yaml-helper"
                    data-testid="yaml-editor"
                  />
                  <FormHelperText>
                    <HelperText id="job-yaml-helper" aria-live="polite">
                      {yamlError ? (
                        <HelperTextItem variant="error">{yamlError}</HelperTextItem>
                      ) : manifest ? (
                        <HelperTextItem>Upstream kubeflow.org MPIJob: it is submitted as is and converted by the server.</HelperTextItem>
                      ) : (
                        <HelperTextItem>Edits here update the form; an upstream kubeflow.org/v2beta1 MPIJob is accepted too.</HelperTextItem>
                      )}
                    </HelperText>
                  </FormHelperText>
                </FormGroup>
              ) : (
                <>
                  {manifest && (
                    <Alert variant="info" isInline title="The YAML view holds an upstream MPIJob; edit it there or clear it to use the form.">
                      <Button variant="link" isInline onClick={() => { setManifest(null); setYamlText(jobToYaml(job)); }}>
                        Discard the upstream manifest
                      </Button>
                    </Alert>
                  )}
                  <FormGroup role="radiogroup" isInline fieldId="job-type" label="Job type" isStack>
                    {JOB_TYPES.map((t) => (
                      <Radio
                        key={t.value}
                        id={`job-type-${t.value}`}
                        name="job-type"
                        label={t.available ? t.label : `${t.label} (unavailable)`}
                        description={t.description}
                        isChecked={t.value === 'MPIJob'}
                        isDisabled={!t.available}
                        onChange={() => {}}
                      />
                    ))}
                  </FormGroup>
                  <FormSection title="Basic configuration" titleElement="h2">
                    {text('name', 'Name', { required: true, help: 'Lowercase letters, digits and "-"; starts with a letter.' })}
                    {text('namespace', 'Namespace', { help: 'Defaults to "default".' })}
                    {text('image', 'Training image', { help: 'Container image with your code and MPI (the local engine ignores it).', placeholder: 'quay.io/acme/train:1.0' })}
                    {text('command', 'Command', {
                      required: true,
                      placeholder: 'python3 /workspace/train.py --epochs 10',
                      help: 'Run by every rank; quote arguments with spaces. mpirun is added for you.',
                    })}
                  </FormSection>
                  <FormSection title="Worker configuration" titleElement="h2">
                    <Grid hasGutter md={6}>
                      <GridItem>{text('workers', 'Number of workers', { required: true, type: 'number' })}</GridItem>
                      <GridItem>{text('gpus', 'GPUs per worker', { type: 'number' })}</GridItem>
                      <GridItem>{text('cpu', 'CPU per worker', { help: 'Cores, e.g. 4 or 500m.' })}</GridItem>
                      <GridItem>{text('memory', 'Memory per worker', { help: 'e.g. 16Gi.' })}</GridItem>
                      <GridItem>{text('slotsPerWorker', 'Slots (MPI ranks) per worker', { type: 'number' })}</GridItem>
                    </Grid>
                  </FormSection>
                  <ExpandableSection
                    toggleText={advanced || advancedHasErrors ? 'Hide advanced options' : 'Show advanced options'}
                    isExpanded={advanced || advancedHasErrors}
                    onToggle={(_e, v) => setAdvanced(v)}
                    data-testid="advanced"
                  >
                    <FormSection title="MPI" titleElement="h2">
                      <FormGroup label="MPI implementation" fieldId="field-mpiImplementation">
                        <FormSelect
                          id="field-mpiImplementation"
                          value={form.mpiImplementation}
                          onChange={(_e, v) => set('mpiImplementation', v)}
                          validated={errorsFor('mpiImplementation').length ? 'error' : 'default'}
                        >
                          {MPI_IMPLEMENTATIONS.map((m) => (
                            <FormSelectOption key={m} value={m} label={m === 'OpenMPI' ? 'Open MPI' : m === 'Intel' ? 'Intel MPI' : m} />
                          ))}
                        </FormSelect>
                        {helper('mpiImplementation')}
                      </FormGroup>
                      {text('workingDir', 'Working directory', { placeholder: '/workspace' })}
                    </FormSection>
                    <FormSection title="Launcher resources" titleElement="h2">
                      <Grid hasGutter md={4}>
                        <GridItem>{text('launcherCpu', 'Launcher CPU')}</GridItem>
                        <GridItem>{text('launcherMemory', 'Launcher memory')}</GridItem>
                        <GridItem>{text('launcherGpus', 'Launcher GPUs', { type: 'number' })}</GridItem>
                      </Grid>
                    </FormSection>
                    <FormSection title="Environment and labels" titleElement="h2">
                      <FormGroup label="Environment variables" fieldId="field-env">
                        <TextArea id="field-env" value={form.env} onChange={(_e, v) => set('env', v)} placeholder={'EPOCHS=10\nNCCL_DEBUG=INFO'} validated={errorsFor('env').length ? 'error' : 'default'} aria-describedby="field-env-helper" />
                        {helper('env', 'One NAME=value per line.')}
                      </FormGroup>
                      <FormGroup label="Labels" fieldId="field-labels">
                        <TextArea id="field-labels" value={form.labels} onChange={(_e, v) => set('labels', v)} placeholder="team=nlp" validated={errorsFor('labels').length ? 'error' : 'default'} aria-describedby="field-labels-helper" />
                        {helper('labels', 'One key=value per line; filter the job list by them.')}
                      </FormGroup>
                    </FormSection>
                    <FormSection title="Run policy" titleElement="h2">
                      <Grid hasGutter md={6}>
                        <GridItem>{text('activeDeadlineSeconds', 'Active deadline (seconds)', { type: 'number', help: 'Fail the job after this long.' })}</GridItem>
                        <GridItem>{text('backoffLimit', 'Backoff limit (retries)', { type: 'number', help: 'Default 0.' })}</GridItem>
                        <GridItem>{text('ttlSecondsAfterFinished', 'Delete after finishing (seconds)', { type: 'number' })}</GridItem>
                        <GridItem>
                          <FormGroup label="Clean pod policy" fieldId="field-cleanPodPolicy">
                            <FormSelect id="field-cleanPodPolicy" value={form.cleanPodPolicy} onChange={(_e, v) => set('cleanPodPolicy', v)}>
                              <FormSelectOption value="" label="Default (Running)" />
                              {CLEAN_POD_POLICIES.map((p) => (
                                <FormSelectOption key={p} value={p} label={p} />
                              ))}
                            </FormSelect>
                            {helper('cleanPodPolicy')}
                          </FormGroup>
                        </GridItem>
                      </Grid>
                      <Checkbox id="field-suspend" label="Create suspended (start it later with Resume)" isChecked={form.suspend} onChange={(_e, v) => set('suspend', v)} />
                    </FormSection>
                    <FormSection title="Scheduling" titleElement="h2">
                      <Grid hasGutter md={6}>
                        <GridItem>{text('queue', 'Queue', { help: 'Kueue LocalQueue name.' })}</GridItem>
                        <GridItem>{text('priorityClass', 'Priority class')}</GridItem>
                      </Grid>
                    </FormSection>
                  </ExpandableSection>
                </>
              )}

              {(submitted && (otherErrors.length > 0 || submitError)) && (
                <Alert
                  id="create-errors"
                  tabIndex={-1}
                  variant="danger"
                  isInline
                  title={submitError?.message ?? 'The job is not valid'}
                  data-testid="create-error"
                  component="h2"
                >
                  {otherErrors.length > 0 && (
                    <List>
                      {otherErrors.map((e) => (
                        <ListItem key={e.field + e.message}>
                          {e.field ? `${e.field}: ` : ''}
                          {e.message}
                        </ListItem>
                      ))}
                    </List>
                  )}
                  {submitError?.quota.length ? (
                    <List>
                      {submitError.quota.map((q) => (
                        <ListItem key={q.resource}>
                          {q.resource}: requested {q.requested}, available {q.available}
                          {q.source ? ` (${q.source})` : ''}
                        </ListItem>
                      ))}
                    </List>
                  ) : null}
                  {submitError?.hint && <Content component="p">{submitError.hint}</Content>}
                </Alert>
              )}
              {warnings.length > 0 && (
                <Alert variant="info" isInline isPlain title="Notes from the server" component="h3">
                  <List>
                    {warnings.map((w) => (
                      <ListItem key={w}>{w}</ListItem>
                    ))}
                  </List>
                </Alert>
              )}
              <ActionGroup>
                <Button type="submit" variant="primary" isLoading={busy} isDisabled={busy || (view === 'yaml' && !!yamlError)}>
                  Create
                </Button>
                <Button variant="secondary" onClick={() => setTemplateModal(true)} isDisabled={!!manifest}>
                  Save as template
                </Button>
                <Button variant="link" onClick={() => nav('/')}>
                  Cancel
                </Button>
              </ActionGroup>
            </Form>
          </GridItem>
          <GridItem xl={4} lg={5} md={12}>
            <ResourceCalculator spec={job.spec} capacity={capacity} capacityError={capacityError} />
          </GridItem>
        </Grid>
      </PageSection>
      {templateModal && (
        <SaveTemplateModal
          defaultName={form.name ? `${form.name}-template` : ''}
          onClose={() => setTemplateModal(false)}
          onSave={async (name, description) => {
            await api.createTemplate(namespace, { name, namespace, description, job: cleanJob(job) });
            setTemplateModal(false);
            setNotice(`Saved template ${name}.`);
            setTemplates(await api.listTemplates(namespace).catch(() => templates));
          }}
        />
      )}
    </>
  );
}

function SaveTemplateModal({
  defaultName,
  onClose,
  onSave,
}: {
  defaultName: string;
  onClose: () => void;
  onSave: (name: string, description: string) => Promise<void>;
}) {
  const [name, setName] = useState(defaultName);
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onSave(name.trim(), description.trim());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="save-template-title">
      <ModalHeader title="Save as template" labelId="save-template-title" />
      <ModalBody>
        <Form id="save-template-form" onSubmit={(e) => { e.preventDefault(); void save(); }}>
          {error && <Alert variant="danger" isInline title={error} />}
          <FormGroup label="Template name" isRequired fieldId="template-name">
            <TextInput id="template-name" isRequired value={name} onChange={(_e, v) => setName(v)} />
          </FormGroup>
          <FormGroup label="Description" fieldId="template-description">
            <TextInput id="template-description" value={description} onChange={(_e, v) => setDescription(v)} />
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="save-template-form" isLoading={busy} isDisabled={!name.trim() || busy}>
          Save
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
