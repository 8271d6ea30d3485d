import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { job } from '../test/mockApi';
import { ErrorSummary } from './ErrorSummary';
import { Topology } from './Topology';

describe('ErrorSummary', () => {
  it('explains a failed rank and what to try', () => {
    render(
      <ErrorSummary
        job={job('x', 'Failed', {
          status: {
            reason: 'RankFailed',
            message: 'rank 3 exited with code 1',
            firstFailedWorker: 1,
            firstFailedRank: 3,
            exitCode: 1,
            workerStatuses: [{ name: 'worker-1', index: 1, state: 'Failed', exitCode: 1 }],
          },
        })}
      />,
    );
    const a = screen.getByTestId('error-summary');
    expect(a).toHaveTextContent('RankFailed: An MPI rank exited with an error');
    expect(a).toHaveTextContent('rank 3 exited with code 1');
    expect(a).toHaveTextContent('First failed worker: worker-1');
    expect(a).toHaveTextContent('First failed rank: 3');
    expect(a).toHaveTextContent('worker-1 (exit 1)');
    expect(within(a).getAllByRole('listitem').length).toBeGreaterThan(1);
  });
  it('renders nothing for a healthy job', () => {
    const { container } = render(<ErrorSummary job={job('x', 'Succeeded')} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe('Topology', () => {
  it('draws the launcher and every worker with its state, details on focus, and selects on Enter', () => {
    const onSelect = vi.fn();
    render(
      <Topology
        replicas={3}
        onSelect={onSelect}
        status={{
          launcher: { name: 'launcher', index: -1, state: 'Running' },
          workerStatuses: [
            { name: 'worker-0', index: 0, state: 'Running', node: 'node-a', restarts: 0 },
            { name: 'worker-1', index: 1, state: 'Failed', exitCode: 137, reason: 'OOMKilled', restarts: 2, node: 'node-b' },
          ],
        }}
      />,
    );
    expect(screen.getByTestId('topology-worker-2')).toHaveAttribute('data-state', 'Pending');
    const w1 = screen.getByTestId('topology-worker-1');
    expect(w1).toHaveAttribute('data-state', 'Failed');
    fireEvent.focus(w1);
    expect(screen.getByTestId('topology-details')).toHaveTextContent('worker-1: Failed, reason OOMKilled, exit code 137, restarts 2, node node-b');
    fireEvent.keyDown(w1, { key: 'Enter' });
    expect(onSelect).toHaveBeenCalledWith(1);
    expect(screen.getAllByRole('button')).toHaveLength(4);
  });
});
