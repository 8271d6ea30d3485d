// What the server said about the whole job: the errors Create got (fields the
// form has no control for, quota, hint) and the dry run's notes.
import { Alert, Content, List, ListItem } from '@patternfly/react-core';
import type { SubmitError } from './model';

export function CreateErrors({ otherErrors, submitError }: { otherErrors: { field: string; message: string }[]; submitError?: SubmitError }) {
  return (
    <Alert id="create-errors" tabIndex={-1} variant="danger" isInline title={submitError?.message ?? 'The job is not valid'} data-testid="create-error" component="h2">
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
  );
}

export function ServerNotes({ warnings }: { warnings: string[] }) {
  if (!warnings.length) return null;
  return (
    <Alert variant="info" isInline isPlain title="Notes from the server" component="h2">
      <List>
        {warnings.map((w) => (
          <ListItem key={w}>{w}</ListItem>
        ))}
      </List>
    </Alert>
  );
}
