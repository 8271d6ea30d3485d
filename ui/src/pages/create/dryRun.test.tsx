import { fireEvent, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/client';
import type { CreateJobResponse, MPIJob } from '../../api/types';
import { mockApi } from '../../test/mockApi';
import { renderWithApi } from '../../test/render';
import { CreateJobPage } from '../CreateJobPage';

describe('dry run and Create', () => {
  it('does not let a dry run of the same job wipe the errors Create got', async () => {
    const dryRuns: MPIJob[] = [];
    const create = vi.fn((_ns: string, j: MPIJob, dryRun: boolean): Promise<CreateJobResponse> => {
      if (dryRun) {
        dryRuns.push(j);
        return Promise.resolve({ job: j });
      }
      return Promise.reject(
        new ApiError(403, {
          reason: 'Forbidden',
          message: 'admission refused the job',
          fieldErrors: [{ field: 'spec.workers.replicas', message: 'at most 8 workers in this namespace' }],
        }),
      );
    });
    renderWithApi(<CreateJobPage />, mockApi({ createJob: create }), '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'wide' } });
    fireEvent.change(screen.getByLabelText(/^Command/), { target: { value: 'true' } });
    fireEvent.change(screen.getByLabelText(/Number of workers/), { target: { value: '64' } });
    // Create before the debounced dry run of this job has gone out.
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect(await screen.findByText('at most 8 workers in this namespace')).toBeInTheDocument();
    const before = dryRuns.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(dryRuns.slice(before).some((j) => j.spec?.workers?.replicas === 64)).toBe(false);
    expect(screen.getByText('at most 8 workers in this namespace')).toBeInTheDocument();
    // A new edit is validated again.
    fireEvent.change(screen.getByLabelText(/Number of workers/), { target: { value: '4' } });
    await vi.waitFor(() => expect(dryRuns.some((j) => j.spec?.workers?.replicas === 4)).toBe(true), { timeout: 3000 });
  });
});
