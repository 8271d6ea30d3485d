// The YAML view of the creation form, using the pinned `yaml` package.
import { parse, stringify } from 'yaml';
import { API_VERSION, type MPIJob } from '../api/types';

export function jobToYaml(job: MPIJob): string {
  const ordered: MPIJob = {
    apiVersion: job.apiVersion ?? API_VERSION,
    kind: job.kind ?? 'MPIJob',
    metadata: job.metadata,
    spec: job.spec,
  };
  if (job.status) ordered.status = job.status;
  return stringify(ordered, { lineWidth: 0, aliasDuplicateObjects: false });
}

export type YamlParse =
  | { ok: true; job: MPIJob; upstream: false }
  | { ok: true; upstream: true; manifest: string }
  | { ok: false; error: string };

/**
 * yamlToJob reads the YAML view. Our own format maps back onto the form; an
 * upstream kubeflow.org MPIJob is accepted as a raw manifest (the server
 * converts it) and the form is read-only while it is shown.
 */
export function yamlToJob(text: string): YamlParse {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, error: 'the document must be a mapping with apiVersion, kind, metadata and spec' };
  }
  const o = doc as Record<string, unknown>;
  if (typeof o.apiVersion === 'string' && o.apiVersion.startsWith('kubeflow.org/')) {
    return { ok: true, upstream: true, manifest: text };
  }
  if (o.kind !== undefined && o.kind !== 'MPIJob') {
    return { ok: false, error: `kind must be MPIJob, got ${JSON.stringify(o.kind)}` };
  }
  if (o.apiVersion !== undefined && o.apiVersion !== API_VERSION) {
    return { ok: false, error: `apiVersion must be ${API_VERSION} (or an upstream kubeflow.org MPIJob)` };
  }
  for (const k of ['metadata', 'spec'] as const) {
    if (o[k] !== undefined && o[k] !== null && (typeof o[k] !== 'object' || Array.isArray(o[k]))) {
      return { ok: false, error: `${k} must be a mapping` };
    }
  }
  const job = o as MPIJob;
  const c = job.spec?.command as unknown;
  if (c !== undefined && (!Array.isArray(c) || c.some((x) => typeof x !== 'string' && typeof x !== 'number'))) {
    return { ok: false, error: 'spec.command must be a list of strings, e.g. ["python3", "train.py"]' };
  }
  if (Array.isArray(c)) job.spec!.command = c.map(String);
  return { ok: true, job, upstream: false };
}
