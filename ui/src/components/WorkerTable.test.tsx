import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ReplicaStatus } from '../api/types';
import { totalsText } from '../pages/JobDetailPage';
import { WorkerTable } from './WorkerTable';

const workers: ReplicaStatus[] = Array.from({ length: 1000 }, (_, i) => ({ name: `worker-${i}`, index: i, state: i % 100 === 5 ? 'Failed' : 'Running', node: `n${i % 4}` }));
const launcher: ReplicaStatus = { name: 'launcher', index: -1, state: 'Running' };

describe('WorkerTable', () => {
  it('renders one page of 1,000 workers under the launcher, and pages on', async () => {
    render(<WorkerTable launcher={launcher} workers={workers} query="" onSelect={() => {}} />);
    const rows = () => within(screen.getByTestId('worker-table')).getAllByRole('row').slice(1);
    expect(rows()).toHaveLength(21);
    expect(rows()[0]).toHaveAttribute('data-testid', 'replica-launcher');
    expect(rows()[1]).toHaveAttribute('data-testid', 'replica-worker-0');
    await userEvent.click(screen.getAllByRole('button', { name: 'Go to next page' })[0]);
    expect(rows()[1]).toHaveAttribute('data-testid', 'replica-worker-20');
  });

  it('follows the worker filter and starts again on page 1', () => {
    const onSelect = vi.fn();
    const { rerender } = render(<WorkerTable launcher={launcher} workers={workers} query="" onSelect={onSelect} />);
    rerender(<WorkerTable launcher={launcher} workers={workers} query="state:failed" onSelect={onSelect} />);
    const names = within(screen.getByTestId('worker-table'))
      .getAllByRole('row')
      .slice(2)
      .map((r) => r.dataset.testid);
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `replica-worker-${i * 100 + 5}`));
    expect(screen.getByTestId('worker-table-filtered')).toHaveTextContent('10 of 1,000 workers match the filter.');
    expect(screen.queryByTestId('worker-pagination')).toBeNull();
  });
});

describe('totalsText', () => {
  it('shows totals in units people read', () => {
    expect(totalsText({ cpu: '2500m', memory: '20000Mi', gpus: 8, slots: 1000 })).toBe('8 GPUs, 2.5 CPU, 19.5Gi memory, 1,000 ranks');
    expect(totalsText({ cpu: '1000', memory: '4Ti' })).toBe('0 GPUs, 1,000 CPU, 4Ti memory, 0 ranks');
  });
});
