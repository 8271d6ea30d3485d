// The YAML view's code editor: CodeMirror 6 with YAML highlighting, schema
// hints (completion, help on keys, unknown fields) and problems marked at
// their line. Loaded lazily (YamlView), so only the creation page's YAML view
// pays for CodeMirror. Colours come from PatternFly's tokens, so the dark and
// high-contrast themes apply as everywhere else.
//
// Keyboard: Tab indents; Escape then Tab (within two seconds) moves focus
// out of the editor, as does Ctrl-M (Shift-Alt-M on macOS) which switches
// Tab to moving focus; Ctrl-Space suggests fields.
import { autocompletion, closeBrackets, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { HighlightStyle, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, hoverTooltip, keymap, lineNumbers } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import { useEffect, useMemo, useRef, useState } from 'react';
import { completeYaml, keyHelp, problemsIn, typeLabel, type Problem } from './hints';

const pf = (name: string) => `var(--pf-t--global--${name})`;

const theme = EditorView.theme({
  '&': {
    color: pf('text--color--regular'),
    backgroundColor: pf('background--color--primary--default'),
    border: `1px solid ${pf('border--color--default')}`,
    borderRadius: pf('border--radius--small'),
    fontSize: pf('font--size--body--default'),
    minHeight: '24rem',
    maxHeight: '70vh',
  },
  '&.cm-focused': { outline: `2px solid ${pf('border--color--clicked')}`, outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: pf('font--family--mono'), lineHeight: '1.5' },
  '.cm-content': { caretColor: pf('text--color--regular') },
  '.cm-cursor': { borderLeftColor: pf('text--color--regular') },
  '.cm-gutters': {
    backgroundColor: pf('background--color--secondary--default'),
    color: pf('text--color--subtle'),
    borderRight: `1px solid ${pf('border--color--default')}`,
  },
  '.cm-activeLine': { backgroundColor: 'transparent' },
  '&.cm-focused .cm-activeLine': { backgroundColor: pf('background--color--secondary--default') },
  '.cm-tooltip': {
    backgroundColor: pf('background--color--floating--default'),
    color: pf('text--color--regular'),
    border: `1px solid ${pf('border--color--default')}`,
  },
  '.cm-tooltip-autocomplete ul li[aria-selected]': {
    backgroundColor: pf('background--color--action--plain--clicked'),
    color: pf('text--color--regular'),
  },
  '.odh-yaml-help': { padding: '4px 8px', maxWidth: '28rem', whiteSpace: 'pre-wrap' },
  '.cm-diagnostic-error': { borderLeftColor: pf('border--color--status--danger--default') },
  '.cm-diagnostic-warning': { borderLeftColor: pf('border--color--status--warning--default') },
});

// Token colours that keep PatternFly's text contrast in every theme.
const highlight = HighlightStyle.define([
  { tag: t.definition(t.propertyName), color: pf('text--color--brand--default') },
  { tag: t.string, color: pf('text--color--status--success--default') },
  { tag: [t.lineComment, t.meta, t.separator], color: pf('text--color--subtle') },
  { tag: [t.typeName, t.labelName, t.keyword], color: pf('text--color--status--info--default') },
]);

/** help is the tooltip over a key: its path, type and description from the API. */
const help = hoverTooltip((view, pos) => {
  const h = keyHelp(view.state.doc.toString(), pos);
  if (!h) return null;
  return {
    pos: h.from,
    end: h.to,
    above: true,
    create() {
      const dom = document.createElement('div');
      dom.className = 'odh-yaml-help';
      const title = document.createElement('strong');
      title.textContent = `${h.path} (${typeLabel(h.field)})`;
      dom.append(title);
      if (h.field.description) dom.append(document.createElement('br'), h.field.description);
      return { dom };
    },
  };
});

/** useHtmlClass follows a class on <html> (the dashboard's theme switches). */
function useHtmlClass(name: string): boolean {
  const [on, setOn] = useState(() => document.documentElement.classList.contains(name));
  useEffect(() => {
    const obs = new MutationObserver(() => setOn(document.documentElement.classList.contains(name)));
    obs.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    return () => obs.disconnect();
  }, [name]);
  return on;
}

export interface YamlEditorProps {
  value: string;
  onChange: (text: string) => void;
  /** The server's errors (field path + message) to mark at their lines. */
  problems: Problem[];
  /** Completion, help and unknown-field checks for our own MPIJob format (off for upstream manifests). */
  schemaHints: boolean;
  labelledBy: string;
  describedBy: string;
}

export default function YamlEditor({ value, onChange, problems, schemaHints, labelledBy, describedBy }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const dark = useHtmlClass('pf-v6-theme-dark');
  const darkness = useMemo(() => new Compartment(), []);
  const hints = useMemo(() => new Compartment(), []);

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          highlightActiveLine(),
          closeBrackets(),
          indentUnit.of('  '),
          EditorState.tabSize.of(2),
          yaml(),
          syntaxHighlighting(highlight),
          theme,
          darkness.of(EditorView.darkTheme.of(dark)),
          hints.of(schemaHints ? [autocompletion({ override: [completeYaml] }), help] : []),
          lintGutter(),
          keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.contentAttributes.of({ 'aria-labelledby': labelledBy, 'aria-describedby': describedBy, spellcheck: 'false' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is created once; the effects below follow the props.
  }, []);

  // A value set from outside (switching views, discarding a manifest) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: darkness.reconfigure(EditorView.darkTheme.of(dark)) });
  }, [dark, darkness]);

  useEffect(() => {
    view.current?.dispatch({ effects: hints.reconfigure(schemaHints ? [autocompletion({ override: [completeYaml] }), help] : []) });
  }, [schemaHints, hints]);

  const placed = useMemo(() => problemsIn(value, problems, schemaHints), [value, problems, schemaHints]);
  // Syntax errors are marked in the text; the view's own message names them already.
  const listed = placed.filter((p) => p.kind !== 'syntax');
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const len = v.state.doc.length;
    const diags: Diagnostic[] = placed
      .filter((p) => p.from !== undefined)
      .map((p) => ({ from: Math.min(p.from!, len), to: Math.min(p.to!, len), severity: p.severity, message: p.message }));
    v.dispatch(setDiagnostics(v.state, diags));
  }, [placed]);

  return (
    <div className="odh-yaml-code">
      <div ref={host} data-testid="yaml-editor" />
      {listed.length > 0 && (
        <ul className="odh-yaml-problems" aria-label="Problems in the YAML" data-testid="yaml-problems">
          {listed.map((p, i) => (
            <li key={i} data-severity={p.severity} data-line={p.line ?? ''}>
              {p.line ? `Line ${p.line}: ` : ''}
              {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
