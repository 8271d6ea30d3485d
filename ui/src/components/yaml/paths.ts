// Where things are in the YAML view's text: the range of a field path the
// server names in an error (`spec.command[1]`, `metadata.labels["a/b"]`,
// `spec.mpiReplicaSpecs[Worker].replicas`), the key path at the cursor for
// completion and help, and the schema of a path. Pure functions over text,
// tested without an editor.
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { MESSAGES, type FieldSchema } from '../../api/schema.gen';

export type Segment = string | number;

/** parsePath splits a server field path into keys and indexes. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
    } else if (c === '[') {
      const end = path[i + 1] === '"' ? closingQuote(path, i + 1) + 1 : path.indexOf(']', i);
      if (end < 0 || path[end] !== ']') break;
      const inner = path.slice(i + 1, end);
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (inner.startsWith('"')) out.push(JSON.parse(inner) as string);
      else out.push(inner);
      i = end + 1;
    } else {
      const m = /^[^.[]+/.exec(path.slice(i))!;
      out.push(m[0]);
      i += m[0].length;
    }
  }
  return out;
}

function closingQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

export interface PathRange {
  from: number;
  to: number;
  /** False when the path is not in the text and the range is that of its closest ancestor. */
  exact: boolean;
}

/**
 * rangeOfPath finds a field path in YAML text: the key and value of a map
 * entry, or a sequence item. A path that is not there (a required field)
 * gives its closest ancestor's key; undefined when not even the first
 * segment is there or the text does not parse.
 */
export function rangeOfPath(text: string, path: string): PathRange | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length) return undefined;
  let node: unknown = doc.contents;
  let found: PathRange | undefined;
  for (const seg of parsePath(path)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return found && { ...found, exact: false };
      const k = pair.key as YamlNode;
      const v = pair.value as YamlNode | null;
      found = { from: k.range![0], to: v?.range ? v.range[1] : k.range![1], exact: true };
      node = v;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item?.range) return found && { ...found, exact: false };
      found = { from: item.range[0], to: item.range[1], exact: true };
      node = item;
    } else {
      return found && { ...found, exact: false };
    }
  }
  return found;
}

/** Where the cursor is: the keys above it ('[]' for a sequence item) and what is typed so far. */
export interface CursorPath {
  path: string[];
  /** 'key': typing a key; 'value': after "key: ". */
  at: 'key' | 'value';
  /** The key of the line (for 'value'). */
  key?: string;
  /** What is typed of the key or value so far, and where it starts. */
  prefix: string;
  from: number;
}

const KEY_LINE = /^(\s*)(-\s+)?([A-Za-z_][\w./-]*)\s*:(\s*)(.*)$/;

/**
 * cursorPath reads the block-YAML structure above pos from indentation (the
 * text being typed rarely parses): the parent keys of the line, and whether
 * the cursor is on a key or a value.
 */
export function cursorPath(text: string, pos: number): CursorPath | undefined {
  const before = text.slice(0, pos);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.slice(lineStart);
  let at: 'key' | 'value';
  let indent: number;
  let dash: number | undefined;
  let key: string | undefined;
  let prefix: string;
  const v = KEY_LINE.exec(line);
  const k = /^(\s*)(-\s+)?([A-Za-z_][\w./-]*)?$/.exec(line);
  if (k) {
    at = 'key';
    dash = k[2] ? k[1].length : undefined;
    indent = k[1].length + (k[2]?.length ?? 0);
    prefix = k[3] ?? '';
  } else if (v && !v[5].includes(':')) {
    at = 'value';
    dash = v[2] ? v[1].length : undefined;
    indent = v[1].length + (v[2]?.length ?? 0);
    key = v[3];
    prefix = v[5];
  } else {
    return undefined;
  }
  const path: string[] = [];
  let want = indent;
  if (dash !== undefined) {
    path.push('[]');
    want = dash;
  }
  // A sequence may sit at its parent key's own indentation ("env:\n- a").
  let afterDash = dash !== undefined;
  const lines = text.slice(0, lineStart).split('\n');
  for (let i = lines.length - 1; i >= 0 && want > 0; i--) {
    const l = lines[i];
    if (!l.trim() || l.trimStart().startsWith('#')) continue;
    const m = /^(\s*)(-\s+)?(?:([A-Za-z_][\w./-]*)\s*:)?/.exec(l)!;
    const d = m[1].length;
    const ki = d + (m[2]?.length ?? 0);
    if (m[2] && d < want) {
      // An item of a sequence that contains the cursor.
      path.push('[]');
      want = d;
      afterDash = true;
      continue;
    }
    if (m[3] && (ki < want || (afterDash && ki === want && !m[2]))) {
      path.push(m[3]);
      want = ki;
      afterDash = false;
    }
  }
  path.reverse();
  return { path, at, key, prefix, from: pos - prefix.length };
}

/** messageAt is the fields of the message at a key path, starting from an MPIJob. */
export function messageAt(path: string[], root = 'MPIJob'): Record<string, FieldSchema> | undefined {
  let fields: Record<string, FieldSchema> | undefined = MESSAGES[root];
  let f: FieldSchema | undefined;
  for (const seg of path) {
    if (seg === '[]') {
      if (f?.type !== 'array' || !f.items) return undefined;
      f = f.items;
    } else {
      if (!fields) return undefined;
      f = fields[seg];
      if (!f) return undefined;
      if (f.type === 'array') {
        fields = undefined;
        continue;
      }
    }
    fields = f.type === 'object' && f.ref ? MESSAGES[f.ref] : undefined;
  }
  return fields;
}

/** fieldAt is the schema of the field at a key path (its last segment), if the API has it. */
export function fieldAt(path: string[], root = 'MPIJob'): FieldSchema | undefined {
  if (!path.length) return undefined;
  return messageAt(path.slice(0, -1), root)?.[path[path.length - 1]];
}

export interface UnknownField {
  path: string;
  from: number;
  to: number;
  known: string[];
}

/**
 * unknownFields lists keys of a parsed job that the API does not have (a
 * typo such as `replica:` would otherwise be dropped or refused later).
 * Maps with free keys (labels, nodeSelector) are not checked.
 */
export function unknownFields(text: string): UnknownField[] {
  const doc = parseDocument(text);
  if (doc.errors.length) return [];
  const out: UnknownField[] = [];
  const walk = (node: unknown, fields: Record<string, FieldSchema> | undefined, where: string) => {
    if (!fields || !isMap(node)) return;
    for (const p of node.items) {
      if (!isPair(p) || !isScalar(p.key)) continue;
      const name = String(p.key.value);
      const path = where ? `${where}.${name}` : name;
      const f = fields[name];
      const k = p.key as YamlNode;
      if (!f) {
        out.push({ path, from: k.range![0], to: k.range![1], known: Object.keys(fields) });
        continue;
      }
      if (f.type === 'object' && f.ref) walk(p.value, MESSAGES[f.ref], path);
      if (f.type === 'array' && f.items?.ref && isSeq(p.value)) {
        p.value.items.forEach((item, i) => walk(item, MESSAGES[f.items!.ref!], `${path}[${i}]`));
      }
    }
  };
  walk(doc.contents, MESSAGES.MPIJob, '');
  return out;
}
