import { act, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { JobMetrics } from '../api/types';
import { axisMax, formatBytes, formatCores, formatSpan, niceCeil, seriesOf } from '../lib/metrics';
import { mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { ResourceCharts, styleOf } from './ResourceCharts';

const MiB = 2 ** 20;
const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 12, 0, s)).toISOString();

// As the server sends it: protojson leaves out zero values, so worker-0 has
// no index and idle samples have no cpuCores.
const sample: JobMetrics = {
  available: true,
  source: "local engine: /proc sampling of the job's processes",
  intervalSeconds: 2,
  replicas: [
    {
      name: 'launcher',
      index: -1,
      samples: [
        { time: at(0), memoryBytes: 12 * MiB },
        { time: at(2), cpuCores: 0.01, memoryBytes: 12 * MiB },
        { time: at(4), cpuCores: 0.01, memoryBytes: 12.5 * MiB },
      ],
    },
    {
      name: 'worker-0',
      samples: [
        { time: at(0), memoryBytes: 3 * MiB },
        { time: at(2), cpuCores: 0.97, memoryBytes: 3.5 * MiB },
        { time: at(4), cpuCores: 0.98, memoryBytes: 3.5 * MiB },
      ],
    },
    {
      name: 'worker-1',
      index: 1,
      samples: [
        { time: at(0), memoryBytes: 3 * MiB },
        { time: at(2), cpuCores: 1.02, memoryBytes: 3.25 * MiB },
        { time: at(4), memoryBytes: 3.25 * MiB },
      ],
    },
  ],
};

function show(metrics: JobMetrics | (() => Promise<JobMetrics>), phase = 'Running') {
  const api = mockApi({ getJobMetrics: vi.fn(typeof metrics === 'function' ? metrics : async () => metrics) });
  const view = renderWithApi(<ResourceCharts namespace="team-a" name="pi" phase={phase} />, api);
  return { api, ...view };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('metrics helpers', () => {
  it('turns replicas into series, launcher first, index 0 and zero values filled in', () => {
    const cpu = seriesOf(sample, 'cpu');
    expect(cpu.map((s) => [s.name, s.index])).toEqual([
      ['launcher', -1],
      ['worker-0', 0],
      ['worker-1', 1],
    ]);
    expect(cpu[0].points.map((p) => p.v)).toEqual([0, 0.01, 0.01]);
    expect(cpu[2].points.map((p) => p.v)).toEqual([0, 1.02, 0]);
    expect(seriesOf({ available: true }, 'memory')).toEqual([]);
    expect(seriesOf({ available: true, replicas: [{ index: 2, samples: [] }, { index: 3, samples: [{ time: at(1) }] }] }, 'cpu')).toEqual([
      { name: 'worker-3', index: 3, points: [{ t: Date.parse(at(1)), v: 0 }] },
    ]);
  });
  it('formats and scales', () => {
    expect(formatCores(0.98)).toBe('0.98');
    expect(formatCores(0.0123)).toBe('0.012');
    expect(formatCores(12.34)).toBe('12.3');
    expect(formatCores(0)).toBe('0');
    expect(formatBytes(12 * MiB)).toBe('12 MiB');
    expect(formatBytes(11.43 * MiB)).toBe('11.4 MiB');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(niceCeil(0.97)).toBe(1);
    expect(niceCeil(1.02)).toBe(2);
    expect(niceCeil(3.3)).toBe(5);
    expect(niceCeil(0.011)).toBe(0.02);
    expect(axisMax('cpu', 0)).toBe(0.1);
    expect(axisMax('memory', 12.5 * MiB)).toBe(20 * MiB);
    expect(axisMax('memory', 1.5 * 2 ** 30)).toBe(2 * 2 ** 30);
    expect(formatSpan(4000)).toBe('4 seconds');
    expect(formatSpan(120_000)).toBe('2 minutes');
  });
  it('gives every replica its own colour and dash pattern', () => {
    const styles = [-1, ...Array.from({ length: 21 }, (_, i) => i)].map((i) => JSON.stringify(styleOf(i)));
    expect(new Set(styles).size).toBe(styles.length);
  });
});

describe('ResourceCharts', () => {
  it('draws a line and a legend entry per replica, with an accessible summary and table', async () => {
    const { api } = show(sample);
    const cpu = await screen.findByTestId('chart-cpu');
    expect(api.getJobMetrics).toHaveBeenCalledWith('team-a', 'pi');
    expect(within(cpu).getByRole('heading', { level: 3, name: 'CPU (cores)' })).toBeInTheDocument();
    for (const r of ['launcher', 'worker-0', 'worker-1']) {
      expect(within(cpu).getByTestId(`series-cpu-${r}`).getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+$/);
      expect(within(screen.getByTestId('legend-cpu')).getByText(r)).toBeInTheDocument();
      expect(screen.getByTestId(`series-memory-${r}`)).toBeInTheDocument();
    }
    const img = within(cpu).getByRole('img');
    expect(img).toHaveAccessibleName(
      'CPU cores per replica over the last 4 seconds; launcher latest 0.01, worker-0 latest 0.98, worker-1 latest 0',
    );
    expect(screen.getByTestId('chart-memory-svg')).toHaveAttribute(
      'aria-label',
      'Resident memory per replica over the last 4 seconds; launcher latest 12.5 MiB, worker-0 latest 3.5 MiB, worker-1 latest 3.25 MiB',
    );
    // Axis ticks: 0 to a round maximum above the peak.
    expect(within(cpu).getByText('2')).toBeInTheDocument();
    expect(within(screen.getByTestId('chart-memory')).getByText('20 MiB')).toBeInTheDocument();
    // Every number once more in a table for screen readers.
    const table = within(screen.getByTestId('table-cpu'));
    expect(table.getByRole('row', { name: 'worker-1 0 1' })).toBeInTheDocument();
    expect(table.getByRole('row', { name: 'worker-0 0.98 0.98' })).toBeInTheDocument();
    expect(screen.getByText(/Source: local engine/)).toHaveTextContent('a sample every 2 s');
    // Distinct styles per replica.
    const classes = ['launcher', 'worker-0', 'worker-1'].map((r) => screen.getByTestId(`series-cpu-${r}`).parentElement?.getAttribute('class'));
    expect(new Set(classes).size).toBe(3);
  });

  it('refreshes every interval while the job runs', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { api } = show(sample, 'Running');
    await screen.findByTestId('chart-cpu');
    expect(api.getJobMetrics).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(2100));
    expect(api.getJobMetrics).toHaveBeenCalledTimes(2);
    await act(() => vi.advanceTimersByTimeAsync(2100));
    expect(api.getJobMetrics).toHaveBeenCalledTimes(3);
  });

  it('asks once for a finished job and keeps its samples', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { api } = show(sample, 'Succeeded');
    await screen.findByTestId('series-cpu-worker-1');
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(api.getJobMetrics).toHaveBeenCalledTimes(1);
  });

  it("shows the server's message when the engine cannot measure, and stops asking", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const message = 'this engine does not measure resource use; on a cluster, use the OpenShift/Prometheus monitoring';
    const { api } = show({ message });
    expect(await screen.findByTestId('metrics-unavailable')).toHaveTextContent(message);
    expect(screen.queryByRole('img')).not.toBeInTheDocument();
    await act(() => vi.advanceTimersByTimeAsync(5000));
    expect(api.getJobMetrics).toHaveBeenCalledTimes(1);
  });

  it('says no samples yet while a running job has none (replicas omitted)', async () => {
    show({ available: true, intervalSeconds: 2, source: 'local' }, 'Running');
    expect(await screen.findByTestId('metrics-empty')).toHaveTextContent(/^No samples yet/);
  });

  it('says resource use is recorded while the job runs for a finished job without samples', async () => {
    show({ available: true, replicas: [{ name: 'launcher', index: -1 }] }, 'Failed');
    expect(await screen.findByTestId('metrics-empty')).toHaveTextContent(/^Resource use is recorded while the job runs/);
  });

  it('shows errors inline and keeps the last charts', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let fail = false;
    const { api } = show(async () => {
      if (fail) throw new ApiError(503, { message: 'engine busy' });
      return sample;
    });
    await screen.findByTestId('chart-cpu');
    fail = true;
    await act(() => vi.advanceTimersByTimeAsync(2100));
    expect(await screen.findByTestId('metrics-error')).toHaveTextContent('Cannot load resource usage: engine busy');
    expect(screen.getByTestId('chart-cpu')).toBeInTheDocument();
    // A transient error does not stop the refresh.
    fail = false;
    await act(() => vi.advanceTimersByTimeAsync(2100));
    await waitFor(() => expect(screen.queryByTestId('metrics-error')).not.toBeInTheDocument());
    expect(api.getJobMetrics).toHaveBeenCalledTimes(3);
  });

  it('shows a failed first request inline', async () => {
    show(async () => {
      throw new ApiError(404, { message: 'mpijob team-a/pi not found' });
    });
    expect(await screen.findByTestId('metrics-error')).toHaveTextContent('mpijob team-a/pi not found');
  });
});
