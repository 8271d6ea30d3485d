// Asked when a link with ?token= is opened in a tab that is already signed in
// with another token (see auth.ts): who is signed in now, whom the link signs
// in as, and a choice. Staying keeps the current session untouched.
import { ActionGroup, Alert, Button, Content, Form, LoginPage as PFLoginPage, Spinner } from '@patternfly/react-core';
import { useCallback, useEffect, useState } from 'react';
import type { Identity } from '../api/client';

export interface SwitchUserProps {
  /** The token of this tab's session. */
  current: string;
  /** The token the link carries. */
  next: string;
  whoIs: (token: string) => Promise<Identity>;
  /** Use the link's token. */
  onSwitch: () => void;
  /** Keep the current session (the link's token is forgotten). */
  onStay: () => void;
}

type Check = { state: 'checking' } | { state: 'done'; current: Identity; next: Identity } | { state: 'failed'; message: string };

const who = (user: string) => <strong>{user || 'an unnamed user'}</strong>;

export function SwitchUserPage({ current, next, whoIs, onSwitch, onStay }: SwitchUserProps) {
  const [check, setCheck] = useState<Check>({ state: 'checking' });
  const run = useCallback(() => {
    let live = true;
    setCheck({ state: 'checking' });
    Promise.all([whoIs(current), whoIs(next)]).then(
      ([c, n]) => {
        if (!live) return;
        // The same user with another token (e.g. a new one): nothing changes hands.
        if (c.accepted && n.accepted && c.user === n.user) onSwitch();
        else setCheck({ state: 'done', current: c, next: n });
      },
      (e: Error) => live && setCheck({ state: 'failed', message: e.message }),
    );
    return () => {
      live = false;
    };
  }, [current, next, whoIs, onSwitch]);
  useEffect(run, [run]);

  let body: React.ReactNode;
  if (check.state === 'checking') {
    body = <Spinner size="lg" aria-label="Checking whom the link signs in as" />;
  } else if (check.state === 'failed') {
    body = (
      <>
        <Alert variant="danger" isInline component="h3" title={`Cannot check whom the link signs in as: ${check.message}`} />
        <ActionGroup>
          <Button variant="primary" onClick={onStay} autoFocus>
            Stay signed in
          </Button>
          <Button variant="secondary" onClick={run}>
            Try again
          </Button>
        </ActionGroup>
      </>
    );
  } else if (!check.next.accepted) {
    body = (
      <>
        <Alert variant="warning" isInline component="h3" title="The link's token is not accepted by the server">
          {check.next.message}
        </Alert>
        <Content component="p">
          {check.current.accepted ? <>You stay signed in as {who(check.current.user)}.</> : 'Your session in this tab is kept.'}
        </Content>
        <ActionGroup>
          <Button variant="primary" onClick={onStay} autoFocus>
            {check.current.accepted ? `Continue as ${check.current.user || 'current user'}` : 'Continue'}
          </Button>
        </ActionGroup>
      </>
    );
  } else {
    const n = check.next.user || 'an unnamed user';
    body = (
      <>
        <Content component="p" data-testid="switch-current">
          {check.current.accepted ? (
            <>You are signed in as {who(check.current.user)}.</>
          ) : (
            'Your session in this tab is no longer accepted by the server.'
          )}
        </Content>
        <Content component="p" data-testid="switch-next">
          The link you opened signs in as {who(check.next.user)} instead. If you switch, this tab acts as {n}: jobs you create,
          change or delete are done as {n}. Switch only if you expected this link.
        </Content>
        <ActionGroup>
          {check.current.accepted ? (
            <>
              <Button variant="primary" onClick={onStay} autoFocus>
                Stay signed in as {check.current.user || 'current user'}
              </Button>
              <Button variant="secondary" onClick={onSwitch}>
                Switch to {n}
              </Button>
            </>
          ) : (
            <>
              <Button variant="primary" onClick={onSwitch} autoFocus>
                Sign in as {n}
              </Button>
              <Button variant="link" onClick={onStay}>
                Cancel
              </Button>
            </>
          )}
        </ActionGroup>
      </>
    );
  }
  return (
    <PFLoginPage loginTitle="Switch user?" textContent="MPI distributed training on OpenShift AI">
      <h1 className="pf-v6-screen-reader">Training jobs: switch user?</h1>
      <Form onSubmit={(e) => e.preventDefault()} aria-live="polite">
        {body}
      </Form>
    </PFLoginPage>
  );
}
