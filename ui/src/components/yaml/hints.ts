// The YAML editor's schema hints, from the API's messages (schema.gen.ts):
// completion of field names and documented values, help on a key, and the
// problems to mark — syntax errors, unknown fields, and the server's dry-run
// errors at the line of their field path.
import type { Completion, CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import { parseDocument } from 'yaml';
import type { FieldSchema } from '../../api/schema.gen';
import { cursorPath, fieldAt, messageAt, rangeOfPath, unknownFields } from './paths';

export function typeLabel(f: FieldSchema): string {
  if (f.type === 'object') return f.ref ?? 'object';
  if (f.type === 'array') return `list of ${f.items ? typeLabel(f.items) : 'values'}`;
  if (f.type === 'map') return 'map of key: value';
  return f.values ? f.values.join(' | ') : f.type;
}

/** completeYaml proposes the fields of the message at the cursor, or the documented values of a field. */
export function completeYaml(ctx: CompletionContext): CompletionResult | null {
  const text = ctx.state.doc.toString();
  const c = cursorPath(text, ctx.pos);
  if (!c) return null;
  if (c.at === 'value') {
    const f = fieldAt([...c.path, c.key!]);
    if (!f?.values) return null;
    return { from: c.from, options: f.values.map((v) => ({ label: v, type: 'enum', detail: c.key })), validFor: /^[\w./-]*$/ };
  }
  if (!c.prefix && !ctx.explicit) return null;
  const fields = messageAt(c.path);
  if (!fields) return null;
  const line = ctx.state.doc.lineAt(ctx.pos);
  const indent = ' '.repeat(c.from - line.from);
  const options: Completion[] = Object.entries(fields).map(([name, f]) => ({
    label: name,
    type: 'property',
    detail: typeLabel(f),
    info: f.description,
    apply:
      f.type === 'object' || f.type === 'map'
        ? `${name}:\n${indent}  `
        : f.type === 'array'
          ? `${name}:\n${indent}  - `
          : `${name}: `,
  }));
  return { from: c.from, options, validFor: /^[\w./-]*$/ };
}

/** keyHelp is the help for the key at pos, if the cursor is on one the API has. */
export function keyHelp(text: string, pos: number): { from: number; to: number; path: string; field: FieldSchema } | undefined {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const lineEnd = text.indexOf('\n', pos);
  const line = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const m = /^(\s*(?:-\s+)?)([A-Za-z_][\w./-]*)\s*:/.exec(line);
  if (!m) return undefined;
  const from = lineStart + m[1].length;
  const to = from + m[2].length;
  if (pos < from || pos > to) return undefined;
  const c = cursorPath(text, from);
  if (!c) return undefined;
  const path = [...c.path, m[2]];
  const field = fieldAt(path);
  return field && { from, to, path: path.filter((p) => p !== '[]').join('.'), field };
}

export interface Problem {
  field: string;
  message: string;
}

export interface PlacedProblem {
  /** syntax: the text is not YAML (the view's own message says so too). */
  kind: 'syntax' | 'unknown' | 'server';
  message: string;
  severity: 'error' | 'warning';
  /** Where it is marked; undefined when the text has no place for it. */
  from?: number;
  to?: number;
  line?: number;
}

const lineOf = (text: string, pos: number) => text.slice(0, pos).split('\n').length;

/**
 * problemsIn places everything wrong with the text: YAML syntax errors,
 * unknown fields (with schema hints) and the server's errors, each at the
 * line of its field path when the text has it.
 */
export function problemsIn(text: string, server: Problem[], schemaHints: boolean): PlacedProblem[] {
  const out: PlacedProblem[] = [];
  const doc = parseDocument(text);
  for (const e of doc.errors) {
    const [from, to] = e.pos;
    out.push({ kind: 'syntax', message: e.message.split('\n')[0], severity: 'error', from, to: Math.max(to, from + 1), line: lineOf(text, from) });
  }
  if (doc.errors.length) return out;
  if (schemaHints) {
    for (const u of unknownFields(text)) {
      out.push({
        kind: 'unknown',
        message: `${u.path}: the API has no such field (fields here: ${u.known.join(', ')})`,
        severity: 'warning',
        from: u.from,
        to: u.to,
        line: lineOf(text, u.from),
      });
    }
  }
  for (const p of server) {
    const r = p.field ? rangeOfPath(text, p.field) : undefined;
    const message = p.field ? `${p.field}: ${p.message}` : p.message;
    out.push(r ? { kind: 'server', message, severity: 'error', from: r.from, to: r.to, line: lineOf(text, r.from) } : { kind: 'server', message, severity: 'error' });
  }
  return out;
}
