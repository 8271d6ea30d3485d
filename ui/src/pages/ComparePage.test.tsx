import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { job, mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { ComparePage, specText } from './ComparePage';

describe('ComparePage', () => {
  it('shows two specs side by side with the changed lines paired', async () => {
    const a = job('train', 'Succeeded', { spec: { command: ['python3', 'train.py'], workers: { replicas: 2 } } });
    const b = job('train-2', 'Running', { spec: { command: ['python3', 'train.py'], workers: { replicas: 4 } } });
    const api = mockApi({ listJobs: vi.fn(async () => [b, a]) });
    renderWithApi(<ComparePage />, api, '/compare?a=default%2Ftrain&b=default%2Ftrain-2');
    await waitFor(() => expect(screen.getByTestId('diff-summary')).toHaveTextContent('1 line differs.'));
    const del = document.querySelector('.odh-diff-del');
    const add = document.querySelector('.odh-diff-add');
    expect(del).toHaveTextContent('replicas: 2');
    expect(add).toHaveTextContent('replicas: 4');
    expect(del?.parentElement).toBe(add?.parentElement);
    expect(screen.getByLabelText('Left job')).toHaveValue('default/train');
  });
  it('leaves out name, namespace and status', () => {
    const t = specText(job('x', 'Running'));
    expect(t).not.toMatch(/name: x|namespace|status|phase/);
    expect(t).toContain('kind: MPIJob');
  });
});
