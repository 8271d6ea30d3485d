// The form view of the creation page: job type, basic and worker
// configuration, and the advanced options. Stateless: values, errors and
// changes come from the page's model (model.ts).
import {
  Checkbox,
  ExpandableSection,
  FormGroup,
  FormHelperText,
  FormSection,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  Radio,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { CLEAN_POD_POLICIES, MPI_IMPLEMENTATIONS, type FormKey, type JobForm } from '../../lib/form';

const JOB_TYPES = [
  { value: 'MPIJob', label: 'MPIJob', available: true, description: 'MPI (Horovod, mpi4py, DeepSpeed with MPI) across several workers' },
  { value: 'TFJob', label: 'TFJob', available: false, description: 'TensorFlow distributed training — not available yet' },
  { value: 'PyTorchJob', label: 'PyTorchJob', available: false, description: 'PyTorch torchrun — not available yet' },
  { value: 'Custom', label: 'Custom', available: false, description: 'Your own controller — not available yet' },
];

export interface FieldProps {
  form: JobForm;
  errorsFor: (k: FormKey) => string[];
  onChange: (k: FormKey, v: string | boolean) => void;
  onBlur: (k: FormKey) => void;
  /** The form is read-only while the YAML view holds an upstream manifest. */
  disabled: boolean;
}

/** FieldHelper shows a field's errors, or its help text when it has none. */
function FieldHelper({ k, errors, text }: { k: FormKey; errors: string[]; text?: string }) {
  if (!errors.length && !text) return null;
  return (
    <FormHelperText>
      <HelperText id={`field-${k}-helper`} aria-live="polite">
        {errors.length
          ? errors.map((e) => (
              <HelperTextItem key={e} variant="error">
                {e}
              </HelperTextItem>
            ))
          : <HelperTextItem>{text}</HelperTextItem>}
      </HelperText>
    </FormHelperText>
  );
}

type TextKey = Exclude<FormKey, 'suspend'>;

function TextField({
  k,
  label,
  p,
  required,
  help,
  placeholder,
  type,
}: {
  k: TextKey;
  label: string;
  p: FieldProps;
  required?: boolean;
  help?: string;
  placeholder?: string;
  type?: 'text' | 'number';
}) {
  const errors = p.errorsFor(k);
  return (
    <FormGroup label={label} isRequired={required} fieldId={`field-${k}`}>
      <TextInput
        id={`field-${k}`}
        name={k}
        value={p.form[k]}
        type={type ?? 'text'}
        isRequired={required}
        placeholder={placeholder}
        validated={errors.length ? 'error' : 'default'}
        aria-describedby={`field-${k}-helper`}
        onChange={(_e, v) => p.onChange(k, v)}
        onBlur={() => p.onBlur(k)}
        isDisabled={p.disabled}
      />
      <FieldHelper k={k} errors={errors} text={help} />
    </FormGroup>
  );
}

function KeyValueField({ k, label, placeholder, help, p }: { k: 'env' | 'labels'; label: string; placeholder: string; help: string; p: FieldProps }) {
  const errors = p.errorsFor(k);
  return (
    <FormGroup label={label} fieldId={`field-${k}`}>
      <TextArea
        id={`field-${k}`}
        value={p.form[k]}
        onChange={(_e, v) => p.onChange(k, v)}
        placeholder={placeholder}
        validated={errors.length ? 'error' : 'default'}
        aria-describedby={`field-${k}-helper`}
      />
      <FieldHelper k={k} errors={errors} text={help} />
    </FormGroup>
  );
}

function JobTypeChoice() {
  return (
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
  );
}

function AdvancedOptions({ p }: { p: FieldProps }) {
  return (
    <>
      <FormSection title="MPI" titleElement="h2">
        <FormGroup label="MPI implementation" fieldId="field-mpiImplementation">
          <FormSelect
            id="field-mpiImplementation"
            value={p.form.mpiImplementation}
            onChange={(_e, v) => p.onChange('mpiImplementation', v)}
            validated={p.errorsFor('mpiImplementation').length ? 'error' : 'default'}
          >
            {MPI_IMPLEMENTATIONS.map((m) => (
              <FormSelectOption key={m} value={m} label={m === 'OpenMPI' ? 'Open MPI' : m === 'Intel' ? 'Intel MPI' : m} />
            ))}
          </FormSelect>
          <FieldHelper k="mpiImplementation" errors={p.errorsFor('mpiImplementation')} />
        </FormGroup>
        <TextField k="workingDir" label="Working directory" placeholder="/workspace" p={p} />
      </FormSection>
      <FormSection title="Launcher resources" titleElement="h2">
        <Grid hasGutter md={4}>
          <GridItem>
            <TextField k="launcherCpu" label="Launcher CPU" p={p} />
          </GridItem>
          <GridItem>
            <TextField k="launcherMemory" label="Launcher memory" p={p} />
          </GridItem>
          <GridItem>
            <TextField k="launcherGpus" label="Launcher GPUs" type="number" p={p} />
          </GridItem>
        </Grid>
      </FormSection>
      <FormSection title="Environment and labels" titleElement="h2">
        <KeyValueField k="env" label="Environment variables" placeholder={'EPOCHS=10\nNCCL_DEBUG=INFO'} help="One NAME=value per line." p={p} />
        <KeyValueField k="labels" label="Labels" placeholder="team=nlp" help="One key=value per line; filter the job list by them." p={p} />
      </FormSection>
      <FormSection title="Run policy" titleElement="h2">
        <Grid hasGutter md={6}>
          <GridItem>
            <TextField k="activeDeadlineSeconds" label="Active deadline (seconds)" type="number" help="Fail the job after this long." p={p} />
          </GridItem>
          <GridItem>
            <TextField k="backoffLimit" label="Backoff limit (retries)" type="number" help="Default 0." p={p} />
          </GridItem>
          <GridItem>
            <TextField k="ttlSecondsAfterFinished" label="Delete after finishing (seconds)" type="number" p={p} />
          </GridItem>
          <GridItem>
            <FormGroup label="Clean pod policy" fieldId="field-cleanPodPolicy">
              <FormSelect id="field-cleanPodPolicy" value={p.form.cleanPodPolicy} onChange={(_e, v) => p.onChange('cleanPodPolicy', v)}>
                <FormSelectOption value="" label="Default (Running)" />
                {CLEAN_POD_POLICIES.map((c) => (
                  <FormSelectOption key={c} value={c} label={c} />
                ))}
              </FormSelect>
              <FieldHelper k="cleanPodPolicy" errors={p.errorsFor('cleanPodPolicy')} />
            </FormGroup>
          </GridItem>
        </Grid>
        <Checkbox
          id="field-suspend"
          label="Create suspended (start it later with Resume)"
          isChecked={p.form.suspend}
          onChange={(_e, v) => p.onChange('suspend', v)}
        />
      </FormSection>
      <FormSection title="Scheduling" titleElement="h2">
        <Grid hasGutter md={6}>
          <GridItem>
            <TextField k="queue" label="Queue" help="Kueue LocalQueue name." p={p} />
          </GridItem>
          <GridItem>
            <TextField k="priorityClass" label="Priority class" p={p} />
          </GridItem>
        </Grid>
      </FormSection>
    </>
  );
}

/** JobFormFields is the form view: every field the form has a control for. */
export function JobFormFields(p: FieldProps & { advancedOpen: boolean; onToggleAdvanced: (open: boolean) => void }) {
  return (
    <>
      <JobTypeChoice />
      <FormSection title="Basic configuration" titleElement="h2">
        <TextField k="name" label="Name" required help='Lowercase letters, digits and "-"; starts with a letter.' p={p} />
        <TextField k="namespace" label="Namespace" help='Defaults to "default".' p={p} />
        <TextField
          k="image"
          label="Training image"
          help="Container image with your code and MPI (the local engine ignores it)."
          placeholder="quay.io/acme/train:1.0"
          p={p}
        />
        <TextField
          k="command"
          label="Command"
          required
          placeholder="python3 /workspace/train.py --epochs 10"
          help="Run by every rank; quote arguments with spaces. mpirun is added for you."
          p={p}
        />
      </FormSection>
      <FormSection title="Worker configuration" titleElement="h2">
        <Grid hasGutter md={6}>
          <GridItem>
            <TextField k="workers" label="Number of workers" required type="number" p={p} />
          </GridItem>
          <GridItem>
            <TextField k="gpus" label="GPUs per worker" type="number" p={p} />
          </GridItem>
          <GridItem>
            <TextField k="cpu" label="CPU per worker" help="Cores, e.g. 4 or 500m." p={p} />
          </GridItem>
          <GridItem>
            <TextField k="memory" label="Memory per worker" help="e.g. 16Gi." p={p} />
          </GridItem>
          <GridItem>
            <TextField k="slotsPerWorker" label="Slots (MPI ranks) per worker" type="number" p={p} />
          </GridItem>
        </Grid>
      </FormSection>
      <ExpandableSection
        toggleText={p.advancedOpen ? 'Hide advanced options' : 'Show advanced options'}
        isExpanded={p.advancedOpen}
        onToggle={(_e, v) => p.onToggleAdvanced(v)}
        data-testid="advanced"
      >
        <AdvancedOptions p={p} />
      </ExpandableSection>
    </>
  );
}
