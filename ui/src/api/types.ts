// Types of the Training Service REST/JSON API. The message types are
// generated from gen/openapi/training.openapi.json into openapi.gen.ts
// (`npm run gen:api`; types.test.ts fails when it is stale); this file adds
// what the OpenAPI document does not describe: the REST error body written
// by the server's error handler, the dashboard's log query, and the watch
// event types narrowed to the values the proto documents.
import { DOCUMENTED_VALUES, type WatchEvent as WireWatchEvent } from './openapi.gen';

export type {
  CanIResponse,
  Capacity,
  Condition,
  CreateJobResponse,
  EnvVar,
  JobEvent,
  JobMetrics,
  JobStatus,
  JobTemplate,
  LauncherSpec,
  ListJobsResponse,
  LogLine,
  MetricSample,
  MPIJob,
  MPIJobSpec,
  ObjectMeta,
  ReplicaMetrics,
  ReplicaStatus,
  ResourceCapacity,
  Resources,
  ResourceTotals,
  RunPolicy,
  Scheduling,
  Toleration,
  Transition,
  Version,
  Volume,
  WorkerCounts,
  WorkerSpec,
} from './openapi.gen';
export { DOCUMENTED_VALUES } from './openapi.gen';

export const API_VERSION = 'training.opendatahub.io/v1alpha1';
export const KIND = 'MPIJob';

/** Every phase a job can be in, in the order the proto lists them. */
export const PHASES: readonly string[] = DOCUMENTED_VALUES['JobStatus.phase'];
/** Every state of a launcher or worker. */
export const REPLICA_STATES: readonly string[] = DOCUMENTED_VALUES['ReplicaStatus.state'];

export type WatchEventType = (typeof DOCUMENTED_VALUES)['WatchEvent.type'][number];

/** A watch event; the server always sets its type. */
export interface WatchEvent extends Omit<WireWatchEvent, 'type'> {
  type: WatchEventType;
}

/** One invalid field in an error body (not in the OpenAPI document: see docs/reference/api.md). */
export interface FieldError {
  field: string;
  type?: string;
  value?: string;
  message: string;
}

export interface QuotaViolation {
  resource: string;
  requested?: string;
  available?: string;
  limit?: string;
  source?: string;
}

/**
 * The JSON error body of every non-2xx answer. The server's HTTP error
 * handler writes it; the OpenAPI document describes only google.rpc.Status,
 * so this stays hand-written (its shape is in docs/reference/api.md).
 */
export interface ErrorBody {
  code?: number;
  status?: number | string;
  reason?: string;
  message?: string;
  fieldErrors?: FieldError[];
  quota?: QuotaViolation[];
  hint?: string;
}

/** The query parameters of GET …/mpijobs/{name}/logs the dashboard uses. */
export interface LogQuery {
  /** Worker index; undefined means the launcher (unless all). */
  worker?: number;
  all?: boolean;
  follow?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  previous?: boolean;
}

export function jobKey(j: { metadata?: { namespace?: string; name?: string } }): string {
  return `${j.metadata?.namespace ?? ''}/${j.metadata?.name ?? ''}`;
}
