import { Alert, Button, Form, FormGroup, Modal, ModalBody, ModalFooter, ModalHeader, TextInput } from '@patternfly/react-core';
import { useState } from 'react';

/** SaveTemplateModal asks for a template's name and description and saves it with onSave. */
export function SaveTemplateModal({
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
