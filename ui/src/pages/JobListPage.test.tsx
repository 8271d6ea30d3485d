import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { job, mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { JobListPage } from './JobListPage';

function rows() {
  return screen.queryAllByTestId(/^job-row-/).map((r) => r.getAttribute('data-testid')!.slice('job-row-'.length));
}

describe('JobListPage', () => {
  it('shows the watched jobs and updates live without reloading', async () => {
    const api = mockApi();
    renderWithApi(<JobListPage />, api);
    await waitFor(() => expect(api.watches).toHaveLength(1));
    expect(api.watches[0].opts).toEqual({});
    act(() =>
      api.watches[0].emit([
        { type: 'ADDED', job: job('alpha', 'Running', { metadata: { name: 'alpha', creationTimestamp: '2025-01-01T00:00:02Z' } }) },
        { type: 'ADDED', job: job('beta', 'Pending', { metadata: { name: 'beta', creationTimestamp: '2025-01-01T00:00:01Z' } }) },
        { type: 'SYNCED' },
      ]),
    );
    expect(rows()).toEqual(['alpha', 'beta']);
    expect(screen.getByTestId('watch-status')).toHaveTextContent('Live');
    expect(within(screen.getByTestId('job-row-alpha')).getByText('2/2 ready')).toBeInTheDocument();
    act(() =>
      api.watches[0].emit([
        { type: 'MODIFIED', job: job('beta', 'Succeeded', { metadata: { name: 'beta', resourceVersion: '2', creationTimestamp: '2025-01-01T00:00:01Z' } }) },
      ]),
    );
    await waitFor(() => expect(screen.getByTestId('job-row-beta')).toHaveAttribute('data-phase', 'Succeeded'));
    expect(within(screen.getByTestId('job-row-beta')).getByText('Succeeded')).toBeInTheDocument();
    act(() => api.watches[0].emit([{ type: 'DELETED', job: job('alpha') }]));
    await waitFor(() => expect(rows()).toEqual(['beta']));
    expect(api.listJobs).not.toHaveBeenCalled();
  });

  it('filters by name, status and label, and sorts', async () => {
    const api = mockApi();
    renderWithApi(<JobListPage />, api);
    await waitFor(() => expect(api.watches).toHaveLength(1));
    act(() =>
      api.watches[0].emit([
        { type: 'ADDED', job: job('mnist-a', 'Running', { metadata: { name: 'mnist-a', labels: { team: 'nlp' } } }) },
        { type: 'ADDED', job: job('mnist-b', 'Failed', { metadata: { name: 'mnist-b' } }) },
        { type: 'ADDED', job: job('resnet', 'Succeeded', { metadata: { name: 'resnet', labels: { team: 'cv' } } }) },
        { type: 'SYNCED' },
      ]),
    );
    fireEvent.change(screen.getByLabelText('Search jobs by name'), { target: { value: 'mnist' } });
    expect(rows().sort()).toEqual(['mnist-a', 'mnist-b']);
    fireEvent.change(screen.getByLabelText('Filter by label selector'), { target: { value: 'team=nlp' } });
    expect(rows()).toEqual(['mnist-a']);
    fireEvent.change(screen.getByLabelText('Filter by label selector'), { target: { value: '' } });
    await userEvent.click(screen.getByTestId('status-filter'));
    const failed = await screen.findByRole('menuitem', { name: /Failed/ });
    await userEvent.click(within(failed).getByRole('checkbox'));
    expect(rows()).toEqual(['mnist-b']);
    await userEvent.click(screen.getAllByRole('button', { name: /Clear all filters/i })[0]);
    expect(rows()).toHaveLength(3);
    await userEvent.click(screen.getByRole('button', { name: 'Name' }));
    expect(rows()).toEqual(['mnist-a', 'mnist-b', 'resnet']);
    await userEvent.click(screen.getByRole('button', { name: 'Name' }));
    expect(rows()).toEqual(['resnet', 'mnist-b', 'mnist-a']);
  });

  it('deletes the selected jobs after confirmation', async () => {
    const api = mockApi();
    renderWithApi(<JobListPage />, api);
    await waitFor(() => expect(api.watches).toHaveLength(1));
    act(() => api.watches[0].emit([{ type: 'ADDED', job: job('a') }, { type: 'ADDED', job: job('b') }, { type: 'ADDED', job: job('c') }, { type: 'SYNCED' }]));
    const checks = screen.getAllByRole('checkbox', { name: /Select row/ });
    await userEvent.click(checks[0]);
    await userEvent.click(checks[1]);
    await userEvent.click(screen.getByRole('button', { name: 'Delete (2)' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Delete 2 jobs?');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(api.deleteJob).toHaveBeenCalledTimes(2));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('pages through many jobs', async () => {
    const api = mockApi();
    renderWithApi(<JobListPage />, api);
    await waitFor(() => expect(api.watches).toHaveLength(1));
    act(() =>
      api.watches[0].emit([
        ...Array.from({ length: 45 }, (_, i) => ({ type: 'ADDED' as const, job: job(`job-${String(i).padStart(2, '0')}`) })),
        { type: 'SYNCED' },
      ]),
    );
    expect(rows()).toHaveLength(20);
    await userEvent.click(screen.getAllByRole('button', { name: /Go to next page/ })[0]);
    expect(rows()).toHaveLength(20);
    await userEvent.click(screen.getAllByRole('button', { name: /Go to next page/ })[0]);
    expect(rows()).toHaveLength(5);
  });
});
