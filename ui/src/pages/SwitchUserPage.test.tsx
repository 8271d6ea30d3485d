import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import type { Identity } from '../api/client';
import { getToken, setToken } from '../auth';
import { mockApi } from '../test/mockApi';

const USERS: Record<string, string> = { 'tok-alice': 'alice', 'tok-bob': 'bob', 'tok-alice-2': 'alice' };
const whoIs = vi.fn(async (t: string): Promise<Identity> => (USERS[t] ? { accepted: true, user: USERS[t] } : { accepted: false, message: 'the bearer token is not valid' }));

function open(current: string | null, link: string) {
  sessionStorage.clear();
  if (current) setToken(current);
  window.history.replaceState(null, '', '/');
  const api = mockApi();
  render(<App api={api} linkToken={{ kind: 'pending', token: link }} whoIs={whoIs} />);
  return api;
}

const shell = () => screen.findByRole('heading', { level: 1, name: 'Training jobs' });

describe('a ?token= link in a signed-in tab', () => {
  beforeEach(() => whoIs.mockClear());

  it('says who is signed in and whom the link signs in as; staying keeps the session', async () => {
    const api = open('tok-alice', 'tok-bob');
    expect(await screen.findByTestId('switch-current')).toHaveTextContent('You are signed in as alice.');
    expect(screen.getByTestId('switch-next')).toHaveTextContent('The link you opened signs in as bob instead.');
    // Nothing is loaded as either user while the question is open.
    expect(api.watchJobs).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Stay signed in as alice' })).toHaveFocus();
    await userEvent.click(screen.getByRole('button', { name: 'Stay signed in as alice' }));
    await shell();
    expect(getToken()).toBe('tok-alice');
  });

  it('switches only when asked to', async () => {
    open('tok-alice', 'tok-bob');
    await userEvent.click(await screen.findByRole('button', { name: 'Switch to bob' }));
    await shell();
    expect(getToken()).toBe('tok-bob');
  });

  it('keeps the session when the link token is not accepted', async () => {
    open('tok-alice', 'tok-forged');
    expect(await screen.findByText("The link's token is not accepted by the server")).toBeInTheDocument();
    expect(screen.getByText('the bearer token is not valid')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Switch/ })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Continue as alice' }));
    await shell();
    expect(getToken()).toBe('tok-alice');
  });

  it('takes a new token of the same user without asking', async () => {
    open('tok-alice', 'tok-alice-2');
    await shell();
    expect(getToken()).toBe('tok-alice-2');
    expect(screen.queryByText(/Switch user/)).toBeNull();
  });

  it('offers the link when the current session is no longer accepted, and Cancel still keeps it', async () => {
    open('tok-expired', 'tok-bob');
    expect(await screen.findByTestId('switch-current')).toHaveTextContent('no longer accepted');
    expect(screen.getByRole('button', { name: 'Sign in as bob' })).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await shell();
    expect(getToken()).toBe('tok-expired');
  });

  it('does not switch when it cannot tell who the link is', async () => {
    whoIs.mockImplementationOnce(async () => ({ accepted: true, user: 'alice' })).mockImplementationOnce(async () => {
      throw new Error('cannot reach the server');
    });
    open('tok-alice', 'tok-bob');
    expect(await screen.findByText(/Cannot check whom the link signs in as: cannot reach the server/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Switch to bob' }));
    await waitFor(() => expect(getToken()).toBe('tok-bob'));
  });
});
