import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { job } from '../test/mockApi';
import { ErrorSummary } from './ErrorSummary';

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
