import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  LoginPage as PFLoginPage,
  TextInput,
} from '@patternfly/react-core';
import { useState } from 'react';
import type { Api } from '../api/client';
import { clearToken, setToken } from '../auth';

/** LoginPage asks for the server's bearer token (printed by odh-server or `odh` login). */
export function LoginPage({ api, onLogin }: { api: Api; onLogin: () => void }) {
  const [token, setTok] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setToken(token);
    try {
      // /version answers without a token; capacity needs a valid one.
      await api.capacity('default');
      onLogin();
    } catch (err) {
      clearToken();
      setError((err as Error).message || 'The token was not accepted.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <PFLoginPage loginTitle="Log in to Training jobs" textContent="MPI distributed training on OpenShift AI">
      <h1 className="pf-v6-screen-reader">Training jobs: log in</h1>
      <Form onSubmit={submit}>
        {error && <Alert variant="danger" isInline title={error} />}
        <FormGroup label="Access token" isRequired fieldId="token">
          <TextInput
            id="token"
            type="password"
            isRequired
            value={token}
            onChange={(_e, v) => setTok(v)}
            autoComplete="off"
            autoFocus
          />
          <FormHelperText>
            <HelperText>
              <HelperTextItem>
                odh-server prints a URL with the token when it starts; the token is also in the file "token" of its
                state directory. On a cluster, use your OpenShift token (oc whoami -t).
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        </FormGroup>
        <ActionGroup>
          <Button type="submit" variant="primary" isBlock isLoading={busy} isDisabled={!token.trim() || busy}>
            Log in
          </Button>
        </ActionGroup>
      </Form>
    </PFLoginPage>
  );
}
