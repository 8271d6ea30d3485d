import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { formatLine, logSources, sourceQuery } from '../lib/logs';
import { mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { LogPanel } from './LogPanel';

function Harness({ running }: { running: boolean }) {
  const [source, setSource] = useState('launcher');
  return <LogPanel namespace="default" name="pi" workers={3} running={running} source={source} onSourceChange={setSource} />;
}

describe('log sources', () => {
  it('maps the selection onto the logs query', () => {
    expect(sourceQuery('launcher', false)).toEqual({ follow: false });
    expect(sourceQuery('worker-1', true)).toEqual({ worker: 1, follow: true });
    expect(sourceQuery('all', false)).toEqual({ all: true, follow: false });
    expect(logSources(2).map((s) => s.value)).toEqual(['launcher', 'all', 'worker-0', 'worker-1']);
  });
  it('prefixes merged lines with their source', () => {
    expect(formatLine({ source: 'worker-1', text: 'hello' }, true)).toBe('[worker-1] hello');
    expect(formatLine({ worker: -1, text: 'start' }, true)).toBe('[launcher] start');
    expect(formatLine({ source: 'worker-1', text: 'hello' }, false)).toBe('hello');
  });
});

describe('LogPanel', () => {
  it('streams the selected source and restarts the stream when the source changes', async () => {
    const api = mockApi();
    renderWithApi(<Harness running />, api);
    await waitFor(() => expect(api.logs).toHaveLength(1));
    expect(api.logs[0].query).toEqual({ follow: true });
    await userEvent.selectOptions(screen.getByLabelText('Log source'), 'worker-1');
    await waitFor(() => expect(api.logs).toHaveLength(2));
    expect(api.logs[1].query).toEqual({ worker: 1, follow: true });
    await userEvent.selectOptions(screen.getByLabelText('Log source'), 'all');
    await waitFor(() => expect(api.logs).toHaveLength(3));
    expect(api.logs[2].query).toEqual({ all: true, follow: true });
    act(() => api.logs[2].emit([{ source: 'worker-1', worker: 1, text: 'hello from rank 1' }]));
    await waitFor(() => expect(screen.getByTestId('log-status')).toHaveTextContent('1 line'));
  });

  it('does not follow a finished job', async () => {
    const api = mockApi();
    renderWithApi(<Harness running={false} />, api);
    await waitFor(() => expect(api.logs).toHaveLength(1));
    expect(api.logs[0].query).toEqual({ follow: false });
    expect(screen.getByRole('switch', { name: 'Follow' })).toBeDisabled();
  });
});
