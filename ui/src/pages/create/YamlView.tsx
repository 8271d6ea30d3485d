import { FormGroup, FormHelperText, HelperText, HelperTextItem, Spinner } from '@patternfly/react-core';
import { lazy, Suspense } from 'react';
import type { FieldError } from '../../api/types';

// CodeMirror is loaded with the YAML view, not with the dashboard.
const YamlEditor = lazy(() => import('../../components/yaml/YamlEditor'));

export interface YamlViewProps {
  text: string;
  error?: string;
  /** The text is an upstream kubeflow.org manifest: no schema hints, the server converts it. */
  upstream: boolean;
  /** The server's dry-run errors, marked at their lines. */
  serverErrors: FieldError[];
  onChange: (text: string) => void;
}

/** YamlView edits the job as the YAML document the CLI and SDK use. */
export function YamlView({ text, error, upstream, serverErrors, onChange }: YamlViewProps) {
  return (
    // The editor is not a form control a <label for> can name: it is labelled by id.
    <FormGroup
      label={<span id="job-yaml-label">Job YAML</span>}
      labelInfo="Ctrl+Space suggests fields; Escape then Tab leaves the editor"
      className="odh-yaml-editor"
    >
      <Suspense fallback={<Spinner size="md" aria-label="Loading the YAML editor" />}>
        <YamlEditor
          value={text}
          onChange={onChange}
          problems={serverErrors}
          schemaHints={!upstream}
          labelledBy="job-yaml-label"
          describedBy="job-yaml-helper"
        />
      </Suspense>
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
