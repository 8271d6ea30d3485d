import { FormGroup, FormHelperText, HelperText, HelperTextItem, TextArea } from '@patternfly/react-core';

/** YamlView edits the job as the YAML document the CLI and SDK use. */
export function YamlView({ text, error, upstream, onChange }: { text: string; error?: string; upstream: boolean; onChange: (text: string) => void }) {
  return (
    <FormGroup label="Job YAML" fieldId="job-yaml" className="odh-yaml-editor">
      <TextArea
        id="job-yaml"
        value={text}
        onChange={(_e, v) => onChange(v)}
        resizeOrientation="vertical"
        spellCheck={false}
        validated={error ? 'error' : 'default'}
        aria-describedby="job-yaml-helper"
        data-testid="yaml-editor"
      />
      <FormHelperText>
        <HelperText id="job-yaml-helper" aria-live="polite">
          {error ? (
            <HelperTextItem variant="error">{error}</HelperTextItem>
          ) : upstream ? (
            <HelperTextItem>Upstream kubeflow.org MPIJob: it is submitted as is and converted by the server.</HelperTextItem>
          ) : (
            <HelperTextItem>Edits here update the form; an upstream kubeflow.org/v2beta1 MPIJob is accepted too.</HelperTextItem>
          )}
        </HelperText>
      </FormHelperText>
    </FormGroup>
  );
}
