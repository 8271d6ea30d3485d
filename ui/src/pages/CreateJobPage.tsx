import {
  ActionGroup,
  Alert,
  AlertActionCloseButton,
  Button,
  Content,
  Form,
  Grid,
  GridItem,
  PageSection,
  Title,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import { useState } from 'react';
import { useApi } from '../api/context';
import { ResourceCalculator } from '../components/ResourceCalculator';
import { cleanJob } from '../lib/form';
import { jobPath, Link, useLocation, useNavigate } from '../router';
import { CreateErrors, ServerNotes } from './create/CreateMessages';
import { JobFormFields } from './create/JobFormFields';
import { SaveTemplateModal } from './create/SaveTemplateModal';
import { TemplatePicker } from './create/TemplatePicker';
import { splitKey, useCreateJob, useNamespaceInfo } from './create/useCreateJob';
import { YamlView } from './create/YamlView';

export { nextName } from './create/model';

/** CreateJobPage: the creation form with live resource calculator, YAML view and dry-run validation. */
export function CreateJobPage() {
  const api = useApi();
  const nav = useNavigate();
  const { query } = useLocation();
  const from = splitKey(query.get('from'));
  const { state: s, view: v, dispatch, submit } = useCreateJob(api, {
    namespace: query.get('namespace'),
    from: query.get('from'),
    template: query.get('template'),
    onCreated: (ns, name) => nav(jobPath(ns, name)),
  });
  const info = useNamespaceInfo(api, v.namespace);
  const [templateModal, setTemplateModal] = useState(false);

  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          {from ? `Clone and modify ${from[1]}` : 'Create training job'}
        </Title>
        <Content component="p">
          Not sure which job type fits? Read <Link to="/guide">choosing a job type</Link>.
        </Content>
      </PageSection>
      <PageSection>
        {s.loadError && <Alert variant="danger" isInline title={`Cannot load: ${s.loadError}`} />}
        {s.notice && (
          <Alert variant="success" isInline title={s.notice} actionClose={<AlertActionCloseButton onClose={() => dispatch({ type: 'notice' })} />} />
        )}
        <Grid hasGutter>
          <GridItem xl={8} lg={7} md={12}>
            <Form onSubmit={(e) => { e.preventDefault(); void submit(); }} noValidate aria-label="Create training job">
              <TemplatePicker
                templates={info.templates}
                onPick={(t) => dispatch({ type: 'load', job: t.job!, namespace: v.namespace, notice: `Loaded template ${t.name}.` })}
              />
              <ToggleGroup aria-label="Editor view">
                <ToggleGroupItem text="Form" buttonId="view-form" isSelected={s.view === 'form'} onChange={() => dispatch({ type: 'view', view: 'form' })} />
                <ToggleGroupItem text="YAML" buttonId="view-yaml" isSelected={s.view === 'yaml'} onChange={() => dispatch({ type: 'view', view: 'yaml' })} />
              </ToggleGroup>

              {s.view === 'yaml' ? (
                <YamlView
                  text={s.yamlText}
                  error={s.yamlError}
                  upstream={!!s.manifest}
                  serverErrors={s.serverErrors}
                  onChange={(text) => dispatch({ type: 'yaml', text })}
                />
              ) : (
                <>
                  {s.manifest && (
                    <Alert variant="info" isInline title="The YAML view holds an upstream MPIJob; edit it there or clear it to use the form.">
                      <Button variant="link" isInline onClick={() => dispatch({ type: 'discardManifest' })}>
                        Discard the upstream manifest
                      </Button>
                    </Alert>
                  )}
                  <JobFormFields
                    form={s.form}
                    errorsFor={v.errorsFor}
                    onChange={(key, value) => dispatch({ type: 'set', key, value })}
                    onBlur={(key) => dispatch({ type: 'touch', key })}
                    disabled={!!s.manifest}
                    advancedOpen={v.advancedOpen}
                    onToggleAdvanced={(open) => dispatch({ type: 'advanced', open })}
                  />
                </>
              )}

              {s.submitted && (v.otherErrors.length > 0 || s.submitError) && <CreateErrors otherErrors={v.otherErrors} submitError={s.submitError} />}
              <ServerNotes warnings={s.warnings} />
              <ActionGroup>
                <Button type="submit" variant="primary" isLoading={s.busy} isDisabled={s.busy || (s.view === 'yaml' && !!s.yamlError)}>
                  Create
                </Button>
                <Button variant="secondary" onClick={() => setTemplateModal(true)} isDisabled={!!s.manifest}>
                  Save as template
                </Button>
                <Button variant="link" onClick={() => nav('/')}>
                  Cancel
                </Button>
              </ActionGroup>
            </Form>
          </GridItem>
          <GridItem xl={4} lg={5} md={12}>
            <ResourceCalculator spec={v.job.spec} capacity={info.capacity} capacityError={info.capacityError} />
          </GridItem>
        </Grid>
      </PageSection>
      {templateModal && (
        <SaveTemplateModal
          defaultName={s.form.name ? `${s.form.name}-template` : ''}
          onClose={() => setTemplateModal(false)}
          onSave={async (name, description) => {
            await api.createTemplate(v.namespace, { name, namespace: v.namespace, description, job: cleanJob(v.job) });
            setTemplateModal(false);
            dispatch({ type: 'notice', text: `Saved template ${name}.` });
            await info.reloadTemplates();
          }}
        />
      )}
    </>
  );
}
