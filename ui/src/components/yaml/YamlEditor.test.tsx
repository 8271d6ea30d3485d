import { render, screen, waitFor } from '@testing-library/react';
import { EditorView } from '@codemirror/view';
import { describe, expect, it, vi } from 'vitest';
import YamlEditor from './YamlEditor';

const JOB = 'apiVersion: training.opendatahub.io/v1alpha1\nkind: MPIJob\nmetadata:\n  name: pi\nspec:\n  workers:\n    replicas: 0\n';

function viewOf(): EditorView {
  const el = screen.getByTestId('yaml-editor').querySelector('.cm-editor') as HTMLElement;
  return EditorView.findFromDOM(el)!;
}

describe('YamlEditor', () => {
  it('reports edits and lists server errors at their lines', async () => {
    const onChange = vi.fn();
    render(
      <YamlEditor
        value={JOB}
        onChange={onChange}
        problems={[
          { field: 'spec.workers.replicas', message: 'must be at least 1, got 0' },
          { field: 'spec.command', message: 'required' },
          { field: '', message: 'the job is not valid' },
        ]}
        schemaHints
        labelledBy="l"
        describedBy="d"
      />,
    );
    const items = await screen.findAllByRole('listitem');
    expect(items.map((i) => i.textContent)).toEqual([
      'Line 7: spec.workers.replicas: must be at least 1, got 0',
      'Line 5: spec.command: required',
      'the job is not valid',
    ]);
    const v = viewOf();
    expect(v.contentDOM.getAttribute('aria-labelledby')).toBe('l');
    v.dispatch({ changes: { from: v.state.doc.length - 2, to: v.state.doc.length - 1, insert: '3' } });
    expect(onChange).toHaveBeenLastCalledWith(JOB.replace('replicas: 0', 'replicas: 3'));
  });

  it('warns about fields the API does not have, only for our own format', async () => {
    const text = JOB.replace('replicas', 'replica');
    const { rerender } = render(<YamlEditor value={text} onChange={() => {}} problems={[]} schemaHints labelledBy="l" describedBy="d" />);
    expect(await screen.findByText(/Line 7: spec.workers.replica: the API has no such field/)).toBeInTheDocument();
    rerender(<YamlEditor value={text} onChange={() => {}} problems={[]} schemaHints={false} labelledBy="l" describedBy="d" />);
    await waitFor(() => expect(screen.queryByTestId('yaml-problems')).toBeNull());
  });

  it('takes a new value from outside', async () => {
    const { rerender } = render(<YamlEditor value={JOB} onChange={() => {}} problems={[]} schemaHints labelledBy="l" describedBy="d" />);
    rerender(<YamlEditor value={'kind: MPIJob\n'} onChange={() => {}} problems={[]} schemaHints labelledBy="l" describedBy="d" />);
    expect(viewOf().state.doc.toString()).toBe('kind: MPIJob\n');
  });

  it('shows a hostile error message as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const { container } = render(
      <YamlEditor value={JOB} onChange={() => {}} problems={[{ field: 'metadata.name', message: evil }]} schemaHints labelledBy="l" describedBy="d" />,
    );
    expect(await screen.findByText(`Line 4: metadata.name: ${evil}`)).toBeInTheDocument();
    expect(container.querySelector('img')).toBeNull();
  });
});
