import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { job, mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { JobDetailPage } from './JobDetailPage';

const running = job('pi', 'Running', {
  metadata: { name: 'pi', resourceVersion: '3' },
  status: {
    reason: 'Running',
    launcher: { name: 'launcher', index: -1, state: 'Running' },
    // protojson omits index 0.
    workerStatuses: [
      { name: 'worker-0', state: 'Running', ready: true, ranks: [0] },
      { name: 'worker-1', index: 1, state: 'Running', ready: true, ranks: [1], node: 'n1' },
    ],
    history: [
      { phase: 'Pending', reason: 'Created', time: '2025-01-01T00:00:00Z' },
      { phase: 'Running', reason: 'Running', time: '2025-01-01T00:00:01Z' },
    ],
  },
});

async function open(api = mockApi(), path = '/jobs/default/pi') {
  renderWithApi(<JobDetailPage namespace="default" name="pi" />, api, path);
  await waitFor(() => expect(api.watches).toHaveLength(1));
  expect(api.watches[0].opts).toEqual({ namespace: 'default', name: 'pi' });
  act(() => api.watches[0].emit([{ type: 'ADDED', job: running }, { type: 'SYNCED' }]));
  await screen.findByRole('heading', { level: 1, name: 'pi' });
  return api;
}

describe('JobDetailPage', () => {
  it('shows phase, topology, workers and history, live', async () => {
    const api = await open();
    expect(screen.getByTestId('detail-phase')).toHaveTextContent('Running');
    expect(screen.getByTestId('topology-worker-0')).toHaveAttribute('data-state', 'Running');
    expect(within(screen.getByTestId('replica-worker-1')).getByText('n1')).toBeInTheDocument();
    expect(api.getJobMetrics).toHaveBeenCalledWith('default', 'pi');
    expect(await screen.findByTestId('metrics-empty')).toHaveTextContent('No samples yet');
    act(() =>
      api.watches[0].emit([
        { type: 'MODIFIED', job: { ...running, metadata: { ...running.metadata, resourceVersion: '4' }, status: { ...running.status, phase: 'Succeeded', reason: 'Succeeded' } } },
      ]),
    );
    await waitFor(() => expect(screen.getByTestId('detail-phase')).toHaveTextContent('Succeeded'));
    await userEvent.click(screen.getByRole('tab', { name: 'Status history' }));
    expect(within(screen.getByTestId('history-table')).getByText('Created')).toBeInTheDocument();
  });

  it('opens the logs of worker 0 from the topology (index 0 omitted on the wire)', async () => {
    const api = await open();
    await userEvent.click(screen.getByTestId('topology-worker-0'));
    await waitFor(() => expect(api.logs).toHaveLength(1));
    expect(api.logs[0].query).toEqual({ worker: 0, follow: true });
    expect(window.location.search).toBe('?tab=logs&source=worker-0');
  });

  it('suspends, clones and deletes', async () => {
    const api = await open();
    await userEvent.click(screen.getByRole('button', { name: 'Suspend' }));
    expect(api.suspendJob).toHaveBeenCalledWith('default', 'pi');
    await userEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await userEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect(api.deleteJob).toHaveBeenCalledWith('default', 'pi');
    await waitFor(() => expect(window.location.pathname).toBe('/'));
  });

  it('offers no change or delete the server would refuse, and says why', async () => {
    const reason = 'user "bob" may not delete MPIJob "pi" in namespace "default": it was created by "alice"';
    const api = mockApi({ canI: vi.fn(async () => ({ allowed: false, reason, user: 'bob' })) });
    await open(api);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Delete' })).toBeDisabled());
    expect(screen.getByRole('button', { name: 'Suspend' })).toBeDisabled();
    expect(screen.getByTestId('detail-access')).toHaveTextContent('created by "alice"');
    expect(api.canI).toHaveBeenCalledWith('default', 'delete', 'mpijobs', 'pi');
    expect(api.canI).toHaveBeenCalledWith('default', 'update', 'mpijobs', 'pi');
  });

  it('says so when the job does not exist', async () => {
    const api = mockApi();
    renderWithApi(<JobDetailPage namespace="default" name="gone" />, api, '/jobs/default/gone');
    await waitFor(() => expect(api.watches).toHaveLength(1));
    act(() => api.watches[0].emit([{ type: 'SYNCED' }]));
    expect(await screen.findByText('Job not found')).toBeInTheDocument();
  });
});
