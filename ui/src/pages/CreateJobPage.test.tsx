import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EditorView } from '@codemirror/view';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { MPIJob } from '../api/types';
import { mockApi } from '../test/mockApi';
import { renderWithApi } from '../test/render';
import { CreateJobPage, nextName } from './CreateJobPage';

function invalidName(job: MPIJob) {
  if (!job.metadata?.name || job.metadata.name.toUpperCase() === job.metadata.name) {
    return Promise.reject(
      new ApiError(422, {
        reason: 'Invalid',
        message: 'invalid job',
        fieldErrors: [
          { field: 'metadata.name', type: 'Invalid', message: 'must be a lowercase DNS-1035 label' },
          { field: 'spec.volumes[0]', type: 'Invalid', message: 'exactly one source' },
        ],
      }),
    );
  }
  return Promise.resolve({ job, warnings: ['image is ignored by the local engine'] });
}

describe('CreateJobPage', () => {
  it('shows the server dry-run field errors under the fields the user touched', async () => {
    const api = mockApi({ createJob: vi.fn((_ns: string, j: MPIJob) => invalidName(j)) });
    renderWithApi(<CreateJobPage />, api, '/create');
    const name = screen.getByLabelText(/^Name\s*\*?$/);
    await userEvent.type(name, 'BAD');
    await waitFor(
      () => expect(api.createJob).toHaveBeenLastCalledWith('default', expect.objectContaining({ metadata: { name: 'BAD', namespace: 'default' } }), true),
      { timeout: 3000 },
    );
    await waitFor(() => expect(screen.getByText('must be a lowercase DNS-1035 label')).toBeInTheDocument());
    expect(name).toHaveAttribute('aria-invalid', 'true');
    // Fields the user has not touched show no error yet; unmapped errors wait for submit.
    expect(screen.queryByText(/exactly one source/)).toBeNull();
    await userEvent.clear(name);
    await userEvent.type(name, 'good');
    await waitFor(() => expect(screen.queryByText('must be a lowercase DNS-1035 label')).toBeNull(), { timeout: 3000 });
    expect(await screen.findByText('image is ignored by the local engine')).toBeInTheDocument();
  });

  it('keeps the resource calculator in step with the worker fields', async () => {
    const api = mockApi();
    renderWithApi(<CreateJobPage />, api, '/create');
    const workers = screen.getByLabelText(/Number of workers/);
    fireEvent.change(workers, { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText(/GPUs per worker/), { target: { value: '2' } });
    fireEvent.change(screen.getByLabelText(/CPU per worker/), { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText(/Memory per worker/), { target: { value: '16Gi' } });
    expect(screen.getByTestId('calc-summary')).toHaveTextContent('8 GPUs, 16 CPUs, 64Gi memory, 4 MPI ranks');
    // The namespace has 6 CPUs and 16Gi available: CPU and memory are flagged, slots are not.
    await waitFor(() => expect(within(screen.getByTestId('calc-row-cpu')).getByText(/exceeds available/)).toBeInTheDocument());
    expect(within(screen.getByTestId('calc-row-memory')).getByText(/exceeds available/)).toBeInTheDocument();
    expect(within(screen.getByTestId('calc-row-slots')).queryByText(/exceeds available/)).toBeNull();
    expect(screen.getByText(/asks for more CPU, Memory than is available/)).toBeInTheDocument();
  });

  it('keeps the YAML view and the form in sync', async () => {
    const api = mockApi();
    renderWithApi(<CreateJobPage />, api, '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'pi' } });
    fireEvent.change(screen.getByLabelText(/^Command/), { target: { value: 'python3 pi.py' } });
    await userEvent.click(screen.getByRole('button', { name: 'YAML' }));
    // The editor is CodeMirror (loaded lazily); edits go through its view as typing would.
    const host = await screen.findByTestId('yaml-editor');
    await waitFor(() => expect(host.querySelector('.cm-editor')).not.toBeNull());
    const view = EditorView.findFromDOM(host.querySelector('.cm-editor') as HTMLElement)!;
    const text = () => view.state.doc.toString();
    const replace = (t: string) => act(() => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } }));
    expect(text()).toContain('name: pi');
    expect(text()).toMatch(/command:\n\s+- python3\n\s+- pi.py/);
    replace(text().replace('name: pi', 'name: pi-yaml').replace('replicas: 2', 'replicas: 5'));
    replace(text() + '\n  bad: [');
    expect(screen.getByText(/Flow sequence|Unexpected|flow/i)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create' })).toBeDisabled();
    replace(text().replace('\n  bad: [', ''));
    await userEvent.click(screen.getByRole('button', { name: 'Form' }));
    expect(screen.getByLabelText(/^Name\s*\*?$/)).toHaveValue('pi-yaml');
    expect(screen.getByLabelText(/Number of workers/)).toHaveValue(5);
  });

  it('marks the dry run\'s errors at their lines in the YAML view', async () => {
    const api = mockApi({ createJob: vi.fn((_ns: string, j: MPIJob) => invalidName(j)) });
    renderWithApi(<CreateJobPage />, api, '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'BAD' } });
    await userEvent.click(screen.getByRole('button', { name: 'YAML' }));
    const problems = await screen.findByTestId('yaml-problems', {}, { timeout: 5000 });
    await waitFor(() => expect(problems).toHaveTextContent('Line 4: metadata.name: must be a lowercase DNS-1035 label'));
    // spec.volumes is not in the text: listed without a line.
    expect(problems).toHaveTextContent('spec.volumes[0]: exactly one source');
  });

  it('creates the job and maps a rejected submit onto the fields, opening advanced options', async () => {
    const create = vi.fn((_ns: string, j: MPIJob, dryRun: boolean) =>
      dryRun
        ? Promise.resolve({ job: j })
        : Promise.reject(
            new ApiError(422, {
              reason: 'Invalid',
              message: 'the job is not valid',
              fieldErrors: [{ field: 'spec.runPolicy.backoffLimit', message: 'must be at most 100, got 500' }],
            }),
          ),
    );
    const api = mockApi({ createJob: create });
    renderWithApi(<CreateJobPage />, api, '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'pi' } });
    fireEvent.change(screen.getByLabelText(/^Command/), { target: { value: 'true' } });
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect(await screen.findByText('must be at most 100, got 500')).toBeInTheDocument();
    expect(screen.getByLabelText(/Backoff limit/)).toBeVisible();
    expect(create).toHaveBeenCalledWith('default', expect.objectContaining({ metadata: { name: 'pi', namespace: 'default' } }), false);
  });

  it('navigates to the new job after a successful create', async () => {
    const api = mockApi();
    renderWithApi(<CreateJobPage />, api, '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'pi' } });
    fireEvent.change(screen.getByLabelText(/^Command/), { target: { value: 'true' } });
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(window.location.pathname).toBe('/jobs/default/pi'));
  });

  it('clones a job with a new name and saves a template', async () => {
    const api = mockApi();
    renderWithApi(<CreateJobPage />, api, '/create?from=default%2Ftrain-3');
    await waitFor(() => expect(screen.getByLabelText(/^Name\s*\*?$/)).toHaveValue('train-4'));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Clone and modify train-3');
    await userEvent.click(screen.getByRole('button', { name: 'Save as template' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText(/Description/), 'my base');
    await act(async () => {
      await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    });
    expect(api.createTemplate).toHaveBeenCalledWith(
      'default',
      expect.objectContaining({ name: 'train-4-template', description: 'my base', job: expect.objectContaining({ kind: 'MPIJob' }) }),
    );
    expect(await screen.findByText('Saved template train-4-template.')).toBeInTheDocument();
  });

  it('explains a quota rejection with requested and available amounts', async () => {
    const create = vi.fn((_ns: string, j: MPIJob, dryRun: boolean) =>
      dryRun
        ? Promise.resolve({ job: j })
        : Promise.reject(
            new ApiError(403, {
              reason: 'QuotaExceeded',
              message: 'the job needs more than the namespace quota allows',
              quota: [{ resource: 'nvidia.com/gpu', requested: '8', available: '4', source: 'ResourceQuota team-a/gpus' }],
              hint: 'Reduce the workers or GPUs per worker.',
            }),
          ),
    );
    renderWithApi(<CreateJobPage />, mockApi({ createJob: create }), '/create');
    fireEvent.change(screen.getByLabelText(/^Name\s*\*?$/), { target: { value: 'big' } });
    fireEvent.change(screen.getByLabelText(/^Command/), { target: { value: 'true' } });
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    const alert = await screen.findByTestId('create-error');
    expect(alert).toHaveTextContent('the job needs more than the namespace quota allows');
    expect(alert).toHaveTextContent('nvidia.com/gpu: requested 8, available 4 (ResourceQuota team-a/gpus)');
    expect(alert).toHaveTextContent('Reduce the workers or GPUs per worker.');
  });

  it('marks the other job types as unavailable', () => {
    renderWithApi(<CreateJobPage />, mockApi(), '/create');
    expect(screen.getByLabelText('MPIJob')).toBeChecked();
    expect(screen.getByLabelText('TFJob (unavailable)')).toBeDisabled();
    expect(screen.getByLabelText('PyTorchJob (unavailable)')).toBeDisabled();
    expect(screen.getByLabelText('Custom (unavailable)')).toBeDisabled();
  });

  it('suggests names for copies', () => {
    expect(nextName('train')).toBe('train-2');
    expect(nextName('train-9')).toBe('train-10');
  });
});
