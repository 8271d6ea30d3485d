// The dashboard's API types against the OpenAPI document the server is built
// from: the generated types must be current, the values the UI knows must be
// the ones the proto documents, and every request HttpApi makes must be an
// operation of the document with parameters and body fields it declares.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { documentedValues, generate, generateSchema, OPENAPI_PATH, OUTPUT_PATH, SCHEMA_OUTPUT_PATH } from '../../scripts/gen-api-types.mjs';
import { phaseColor } from '../lib/status';
import { CLEAN_POD_POLICIES, MPI_IMPLEMENTATIONS } from '../lib/form';
import { PHASE_ORDER } from '../lib/listFilter';
import { HttpApi } from './client';
import { DOCUMENTED_VALUES, PHASES, REPLICA_STATES } from './types';

interface Param {
  name: string;
  in: string;
}
interface Operation {
  parameters?: Param[];
  requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, unknown>; $ref?: string } } } };
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
}

const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as Doc;
const schema = (n: string) => doc.components.schemas[`odh.training.v1.${n}`];

describe('openapi.gen.ts', () => {
  it('is generated from the current OpenAPI document (else: npm run gen:api)', () => {
    const committed = readFileSync(OUTPUT_PATH, 'utf8');
    // A plain equality check would print 360 lines; say what to do instead.
    expect(committed === generate(doc), 'src/api/openapi.gen.ts is stale: run `npm run gen:api` in ui/ and commit it').toBe(true);
    const schema = readFileSync(SCHEMA_OUTPUT_PATH, 'utf8');
    expect(schema === generateSchema(doc), 'src/api/schema.gen.ts is stale: run `npm run gen:api` in ui/ and commit it').toBe(true);
  });

  it('reads value lists from descriptions and ignores open or prose ones', () => {
    expect(documentedValues('Pending | Running | Unknown.')).toEqual(['Pending', 'Running', 'Unknown']);
    expect(documentedValues('"True" | "False" | "Unknown".')).toEqual(['True', 'False', 'Unknown']);
    expect(documentedValues('None | Running | All (default Running).')).toEqual(['None', 'Running', 'All']);
    expect(documentedValues('cpu | memory | nvidia.com/gpu | slots | ...')).toBeUndefined();
    expect(documentedValues('"launcher" or "worker-N".')).toBeUndefined();
    expect(documentedValues(undefined)).toBeUndefined();
  });

  it('fails on a schema it cannot express instead of guessing', () => {
    expect(() => generate({ components: { schemas: { 'odh.training.v1.X': { type: 'object', properties: { a: { type: 'tuple' } } } } } })).toThrow(
      /odh.training.v1.X.a: unsupported schema/,
    );
    expect(() => generate({})).toThrow(/no components.schemas/);
  });
});

describe('values the dashboard knows', () => {
  it('shows and sorts every phase the proto documents', () => {
    expect([...PHASES]).toEqual(['Pending', 'Queued', 'Starting', 'Running', 'Succeeded', 'Failed', 'Suspended', 'Deleting']);
    expect([...PHASE_ORDER].sort()).toEqual([...PHASES].sort());
    // Only Pending (and unknown values) fall back to grey.
    for (const p of PHASES) if (p !== 'Pending') expect(phaseColor(p), p).not.toBe('grey');
  });
  it('knows every replica state', () => {
    expect([...REPLICA_STATES]).toEqual(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);
  });
  it('offers exactly the documented clean-pod policies and MPI implementations', () => {
    expect([...CLEAN_POD_POLICIES].sort()).toEqual([...DOCUMENTED_VALUES['RunPolicy.cleanPodPolicy']].sort());
    const mpi = schema('MPIJobSpec').properties!.mpiImplementation.description!;
    for (const m of MPI_IMPLEMENTATIONS) expect(mpi).toContain(m);
  });
});

/** operationFor finds the OpenAPI operation a request URL belongs to. */
function operationFor(method: string, url: URL): { template: string; op: Operation } | undefined {
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = ops[method.toLowerCase()];
    if (op && re.test(url.pathname)) return { template, op };
  }
  return undefined;
}

describe('HttpApi requests', () => {
  it('are all operations of the OpenAPI document, with declared parameters and body fields', async () => {
    const calls: { method: string; url: URL; body?: Record<string, unknown> }[] = [];
    const fetch = (async (input: string, init: RequestInit) => {
      calls.push({ method: init.method ?? 'GET', url: new URL(input, 'http://x'), body: init.body ? JSON.parse(init.body as string) : undefined });
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const api = new HttpApi({ token: () => 't', fetch });
    const job = { metadata: { name: 'j' } };
    const signal = new AbortController().signal;
    await api.version();
    await api.listJobs();
    await api.listJobs('ns', 'a=b');
    await api.getJob('ns', 'j');
    await api.createJob('ns', job, true);
    await api.createJobFromManifest('ns', 'kind: MPIJob', false);
    await api.deleteJob('ns', 'j');
    await api.suspendJob('ns', 'j');
    await api.resumeJob('ns', 'j');
    await api.listEvents('ns', 'j');
    await api.getJobMetrics('ns', 'j');
    await api.capacity('ns');
    await api.listTemplates('ns');
    await api.getTemplate('ns', 't');
    await api.createTemplate('ns', { name: 't', job });
    await api.deleteTemplate('ns', 't');
    await api.canI('ns', 'delete', 'mpijobs', 'j');
    await api.watchJobs({ namespace: 'ns', name: 'j', labelSelector: 'a=b', sendInitialEvents: false }, () => {}, signal);
    await api.watchJobs({}, () => {}, signal);
    await api.streamLogs('ns', 'j', { worker: 1, follow: true, tailLines: 10, sinceSeconds: 5, previous: true }, () => {}, signal);
    await api.streamLogs('ns', 'j', { all: true }, () => {}, signal);
    expect(calls).toHaveLength(21);
    for (const c of calls) {
      const where = `${c.method} ${c.url.pathname}${c.url.search}`;
      const found = operationFor(c.method, c.url);
      expect(found, `${where} is not in the OpenAPI document`).toBeDefined();
      const query = new Set((found!.op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
      for (const k of c.url.searchParams.keys()) expect(query.has(k), `${where}: query parameter ${k} is not declared`).toBe(true);
      if (c.body) {
        const s = found!.op.requestBody?.content['application/json'].schema;
        const fields = s?.properties ? Object.keys(s.properties) : s?.$ref ? Object.keys(doc.components.schemas[s.$ref.split('/').pop()!].properties ?? {}) : [];
        for (const k of Object.keys(c.body)) expect(fields, `${where}: body field ${k} is not declared`).toContain(k);
      }
    }
  });
});
