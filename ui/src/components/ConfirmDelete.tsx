import { Button, List, ListItem, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { useState } from 'react';

export interface ConfirmDeleteProps {
  names: string[];
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** ConfirmDelete asks before deleting one or more jobs. */
export function ConfirmDelete({ names, onConfirm, onClose }: ConfirmDeleteProps) {
  const [busy, setBusy] = useState(false);
  const title = names.length === 1 ? `Delete ${names[0]}?` : `Delete ${names.length} jobs?`;
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="confirm-delete-title" data-testid="confirm-delete">
      <ModalHeader title={title} titleIconVariant="warning" labelId="confirm-delete-title" />
      <ModalBody>
        The job{names.length === 1 ? '' : 's'}, {names.length === 1 ? 'its' : 'their'} processes and logs will be removed.
        {names.length > 1 && (
          <List>
            {names.slice(0, 20).map((n) => (
              <ListItem key={n}>{n}</ListItem>
            ))}
            {names.length > 20 && <ListItem>… and {names.length - 20} more</ListItem>}
          </List>
        )}
      </ModalBody>
      <ModalFooter>
        <Button
          variant="danger"
          isLoading={busy}
          isDisabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onConfirm();
            } finally {
              setBusy(false);
            }
          }}
        >
          Delete
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
