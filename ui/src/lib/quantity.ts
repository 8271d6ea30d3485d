// Kubernetes resource quantities ("500m", "16Gi", "1.5", "2e3") as numbers,
// for the resource calculator. Exactness beyond 1e-9 does not matter here.
import type { Capacity, MPIJobSpec } from '../api/types';

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** parseQuantity returns the value of a quantity, or null when it is not one. Empty is 0. */
export function parseQuantity(q: string | number | undefined | null): number | null {
  if (q === undefined || q === null) return 0;
  if (typeof q === 'number') return Number.isFinite(q) ? q : null;
  const s = q.trim();
  if (s === '') return 0;
  const m = RE.exec(s);
  if (!m) return null;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? ''];
}

function trim(n: number, digits: number): string {
  return String(Number(n.toFixed(digits)));
}

/** formatCPU shows cores: 16, 0.5, 2.25. */
export function formatCPU(cores: number): string {
  return trim(cores, 3);
}

/** formatMemory shows bytes in the largest binary unit that keeps the number ≥ 1, with up to digits decimals. */
export function formatMemory(bytes: number, digits = 2): string {
  if (bytes === 0) return '0';
  const units: [string, number][] = [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ];
  for (const [u, v] of units) if (bytes >= v) return `${trim(bytes / v, digits)}${u}`;
  return trim(bytes, 0);
}

export interface Totals {
  workers: number;
  cpu: number;
  memory: number;
  gpus: number;
  slots: number;
  /** Fields whose quantity did not parse (counted as zero). */
  invalid: string[];
}

/** computeTotals is what a job requests in total: workers × per worker + launcher. */
export function computeTotals(spec: MPIJobSpec | undefined): Totals {
  const invalid: string[] = [];
  const q = (v: string | undefined, field: string) => {
    const n = parseQuantity(v);
    if (n === null || n < 0) {
      invalid.push(field);
      return 0;
    }
    return n;
  };
  const workers = Math.max(0, Math.floor(spec?.workers?.replicas ?? 1));
  const slots = Math.max(0, Math.floor(spec?.workers?.slotsPerWorker ?? 1));
  const w = spec?.workers?.resources ?? {};
  const l = spec?.launcher?.resources ?? {};
  const wcpu = q(w.cpu, 'spec.workers.resources.cpu');
  const wmem = q(w.memory, 'spec.workers.resources.memory');
  const lcpu = q(l.cpu, 'spec.launcher.resources.cpu');
  const lmem = q(l.memory, 'spec.launcher.resources.memory');
  return {
    workers,
    cpu: workers * wcpu + lcpu,
    memory: workers * wmem + lmem,
    gpus: workers * (w.gpus ?? 0) + (l.gpus ?? 0),
    slots: workers * slots,
    invalid,
  };
}

export type ResourceKind = 'cpu' | 'memory' | 'gpus' | 'slots';

export interface CapacityRow {
  kind: ResourceKind;
  label: string;
  requested: number;
  requestedText: string;
  available?: number;
  availableText?: string;
  hardText?: string;
  exceeds: boolean;
}

const CAPACITY_NAMES: Record<string, ResourceKind> = {
  cpu: 'cpu',
  'requests.cpu': 'cpu',
  memory: 'memory',
  'requests.memory': 'memory',
  'nvidia.com/gpu': 'gpus',
  'requests.nvidia.com/gpu': 'gpus',
  gpu: 'gpus',
  gpus: 'gpus',
  slots: 'slots',
};

const LABELS: Record<ResourceKind, string> = { cpu: 'CPU', memory: 'Memory', gpus: 'GPUs', slots: 'MPI slots' };

function fmt(kind: ResourceKind, n: number): string {
  if (kind === 'cpu') return formatCPU(n);
  if (kind === 'memory') return formatMemory(n);
  return String(n);
}

/** capacityRows lines up the totals with what /capacity says is available. */
export function capacityRows(t: Totals, cap: Capacity | undefined): CapacityRow[] {
  const avail: Partial<Record<ResourceKind, { n: number | null; text?: string; hard?: string }>> = {};
  for (const r of cap?.resources ?? []) {
    const kind = CAPACITY_NAMES[r.name ?? ''];
    if (!kind || avail[kind]) continue;
    avail[kind] = { n: r.available ? parseQuantity(r.available) : null, text: r.available, hard: r.hard };
  }
  const kinds: ResourceKind[] = ['gpus', 'cpu', 'memory', 'slots'];
  return kinds.map((kind) => {
    const requested = t[kind];
    const a = avail[kind];
    const available = a?.n ?? undefined;
    return {
      kind,
      label: LABELS[kind],
      requested,
      requestedText: fmt(kind, requested),
      available,
      availableText: available !== undefined ? fmt(kind, available) : undefined,
      hardText: a?.hard ? fmt(kind, parseQuantity(a.hard) ?? 0) : undefined,
      exceeds: available !== undefined && requested > available + 1e-9,
    };
  });
}
