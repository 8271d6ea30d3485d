import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { ReplicaStatus } from '../api/types';
import { replicasOf, Topology } from './Topology';

function Harness({ workers, launcher, onSelect }: { workers: ReplicaStatus[]; launcher: ReplicaStatus; onSelect: (i: number) => void }) {
  const [q, setQ] = useState('');
  return <Topology launcher={launcher} workers={workers} query={q} onQueryChange={setQ} onSelect={onSelect} />;
}

/** big is a 1,000-worker job on 10 nodes: 20 failed, 30 pending (no node), the rest running. */
function big(): ReplicaStatus[] {
  return Array.from({ length: 1000 }, (_, i) => {
    if (i % 50 === 7) return { name: `worker-${i}`, index: i, state: 'Failed', exitCode: 1, node: `node-${i % 10}` };
    if (i >= 970) return { name: `worker-${i}`, index: i, state: 'Pending' };
    return { name: `worker-${i}`, index: i, state: 'Running', ready: true, node: `node-${i % 10}` };
  });
}

const launcher: ReplicaStatus = { name: 'launcher', index: -1, state: 'Running', node: 'node-0' };

describe('Topology', () => {
  it('shows every worker with its state, details on focus, and opens logs with Enter', () => {
    const onSelect = vi.fn();
    const { launcher: l, workers } = replicasOf(
      {
        launcher,
        workerStatuses: [
          { name: 'worker-0', state: 'Running', node: 'node-a', restarts: 0 },
          { name: 'worker-1', index: 1, state: 'Failed', exitCode: 137, reason: 'OOMKilled', restarts: 2, node: 'node-b' },
        ],
      },
      3,
    );
    render(<Harness workers={workers} launcher={l} onSelect={onSelect} />);
    expect(screen.getByTestId('topology-worker-2')).toHaveAttribute('data-state', 'Pending');
    expect(screen.getByTestId('topology-worker-0')).toHaveAttribute('data-state', 'Running');
    const w1 = screen.getByTestId('topology-worker-1');
    expect(w1).toHaveAttribute('data-state', 'Failed');
    fireEvent.focus(w1);
    expect(screen.getByTestId('topology-details')).toHaveTextContent('worker-1: Failed, reason OOMKilled, exit code 137, restarts 2, node node-b');
    fireEvent.keyDown(w1, { key: 'Enter' });
    expect(onSelect).toHaveBeenCalledWith(1);
    fireEvent.click(screen.getByTestId('topology-launcher'));
    expect(onSelect).toHaveBeenLastCalledWith(-1);
    expect(screen.getByTestId('topology-summary')).toHaveTextContent('3 workers on 2 nodes: 1 Failed, 1 Running, 1 Pending');
  });

  it('groups 1,000 workers by state and node with counts, one Tab stop per group', async () => {
    render(<Harness workers={big()} launcher={launcher} onSelect={() => {}} />);
    expect(screen.getByTestId('topology-summary')).toHaveTextContent('1,000 workers on 10 nodes: 20 Failed, 950 Running, 30 Pending');
    const grids = screen.getAllByRole('grid');
    expect(grids.map((g) => g.getAttribute('aria-label'))).toEqual(['Workers: Failed', 'Workers: Running', 'Workers: Pending']);
    expect(within(grids[0]).getAllByRole('gridcell')).toHaveLength(20);
    for (const g of grids) expect(g.querySelectorAll('[tabindex="0"]')).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'By node' }));
    expect(screen.getByTestId('group-node-7')).toHaveTextContent('Node node-7: 97 workers — 20 Failed, 77 Running');
    // Workers without a node come last.
    expect(screen.getAllByRole('grid').at(-1)).toHaveAttribute('aria-label', 'Workers: (no node yet)');
  });

  it('filters by state, index range and node, and says when a filter is wrong', async () => {
    render(<Harness workers={big()} launcher={launcher} onSelect={() => {}} />);
    const search = screen.getByRole('textbox', { name: 'Filter workers' });
    const type = (v: string) => fireEvent.change(search, { target: { value: v } });
    type('state:failed');
    expect(screen.getAllByRole('gridcell')).toHaveLength(20);
    expect(screen.getByTestId('topology-filter-help')).toHaveTextContent('20 of 1,000 workers match.');
    type('100-109 node:node-3');
    expect(screen.getAllByRole('gridcell').map((c) => c.dataset.testid)).toEqual(['topology-worker-103']);
    type('index:x');
    expect(screen.getByTestId('topology-filter-help')).toHaveTextContent('index:x is not an index, a range (10-19) or a list (1,5,7)');
    type('');
    await userEvent.click(screen.getAllByRole('button', { name: 'Show only Pending' })[0]);
    expect(search).toHaveValue('state:pending');
    expect(screen.getAllByRole('gridcell')).toHaveLength(30);
  });

  it('moves between workers with the arrow keys and zooms', async () => {
    const onSelect = vi.fn();
    render(<Harness workers={big()} launcher={launcher} onSelect={onSelect} />);
    const running = screen.getByRole('grid', { name: 'Workers: Running' });
    const first = running.querySelector<HTMLElement>('[tabindex="0"]')!;
    expect(first).toHaveAttribute('data-testid', 'topology-worker-0');
    act(() => first.focus());
    await userEvent.keyboard('{ArrowRight}{ArrowRight}');
    expect(document.activeElement).toHaveAttribute('data-testid', 'topology-worker-2');
    expect(running.querySelectorAll('[tabindex="0"]')).toHaveLength(1);
    await userEvent.keyboard('{Control>}{End}{/Control}');
    expect(document.activeElement).toHaveAttribute('data-testid', 'topology-worker-969');
    await userEvent.keyboard('{Enter}');
    expect(onSelect).toHaveBeenCalledWith(969);
    // 1,000 workers start zoomed out (no numbers); zooming in shows the indexes.
    expect(screen.getByTestId('topology-worker-0')).toHaveTextContent('');
    await userEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(screen.getByTestId('topology-worker-0')).toHaveTextContent('0');
  });
});
