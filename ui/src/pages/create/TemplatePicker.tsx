import { FormGroup, FormSelect, FormSelectOption } from '@patternfly/react-core';
import type { JobTemplate } from '../../api/types';

/** TemplatePicker starts the form from one of the namespace's templates. */
export function TemplatePicker({ templates, onPick }: { templates: JobTemplate[]; onPick: (t: JobTemplate) => void }) {
  return (
    <FormGroup label="Start from template" fieldId="template-select">
      <FormSelect
        id="template-select"
        value=""
        onChange={(_e, v) => {
          const t = templates.find((x) => x.name === v);
          if (t?.job) onPick(t);
        }}
        isDisabled={!templates.length}
      >
        <FormSelectOption value="" label={templates.length ? 'Choose a template…' : 'No templates in this namespace'} />
        {templates.map((t) => (
          <FormSelectOption key={t.name} value={t.name ?? ''} label={t.description ? `${t.name} — ${t.description}` : t.name ?? ''} />
        ))}
      </FormSelect>
    </FormGroup>
  );
}
