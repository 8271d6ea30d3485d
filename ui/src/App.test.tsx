import { screen, render, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './api/client';
import { getToken } from './auth';
import { App } from './App';
import { mockApi } from './test/mockApi';

describe('App', () => {
  it('shows the login page when the API answers 401, and the jobs after a good token', async () => {
    sessionStorage.clear();
    window.history.replaceState(null, '', '/');
    let onUnauth: () => void = () => {};
    let authed = false;
    const api = mockApi({
      capacity: vi.fn(async () => {
        if (!authed) throw new ApiError(401, { reason: 'Unauthenticated', message: 'the bearer token is not valid' });
        return { resources: [] };
      }),
    });
    const watch = api.watchJobs;
    api.watchJobs = vi.fn(async (...args: Parameters<typeof watch>) => {
      if (!authed) {
        onUnauth();
        throw new ApiError(401, { reason: 'Unauthenticated' });
      }
      return watch(...args);
    });
    // The real HttpApi calls onUnauthenticated on every 401; the injected one needs help to reach it.
    render(<App api={api} onUnauthenticatedRef={(f) => (onUnauth = f)} />);
    await screen.findByLabelText(/Access token/);
    await userEvent.type(screen.getByLabelText(/Access token/), 'wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByText('the bearer token is not valid')).toBeInTheDocument();
    expect(getToken()).toBeNull();
    authed = true;
    await userEvent.clear(screen.getByLabelText(/Access token/));
    await userEvent.type(screen.getByLabelText(/Access token/), 'good');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'Training jobs' })).toBeInTheDocument());
    expect(getToken()).toBe('good');
  });

  it('switches the dark and high-contrast themes on <html>', async () => {
    const api = mockApi();
    render(<App api={api} />);
    await userEvent.click(screen.getByRole('switch', { name: 'Dark theme' }));
    expect(document.documentElement).toHaveClass('pf-v6-theme-dark');
    await userEvent.click(screen.getByRole('switch', { name: 'High contrast' }));
    expect(document.documentElement).toHaveClass('pf-v6-theme-high-contrast');
    await userEvent.click(screen.getByRole('switch', { name: 'Dark theme' }));
    expect(document.documentElement).not.toHaveClass('pf-v6-theme-dark');
  });
});
