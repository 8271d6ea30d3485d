// Types of the Training Service REST/JSON API (protojson, lowerCamelCase),
// mirroring proto/odh/training/v1/training.proto. Every field is optional on
// the wire: protojson omits zero values.

export const API_VERSION = 'training.opendatahub.io/v1alpha1';
export const KIND = 'MPIJob';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  creator?: string;
}

export interface EnvVar {
  name?: string;
  value?: string;
}

export interface Resources {
  cpu?: string;
  memory?: string;
  gpus?: number;
  cpuLimit?: string;
  memoryLimit?: string;
}

export interface WorkerSpec {
  replicas?: number;
  slotsPerWorker?: number;
  resources?: Resources;
}

export interface RunPolicy {
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  ttlSecondsAfterFinished?: number;
  cleanPodPolicy?: string;
  suspend?: boolean;
}

export interface Scheduling {
  queue?: string;
  priorityClass?: string;
}

export interface Volume {
  name?: string;
  mountPath?: string;
  readOnly?: boolean;
  persistentVolumeClaim?: string;
  configMap?: string;
  secret?: string;
  emptyDir?: boolean;
  hostPath?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface MPIJobSpec {
  image?: string;
  imagePullPolicy?: string;
  command?: string[];
  env?: EnvVar[];
  workingDir?: string;
  workers?: WorkerSpec;
  launcher?: { resources?: Resources };
  mpiImplementation?: string;
  runPolicy?: RunPolicy;
  scheduling?: Scheduling;
  volumes?: Volume[];
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  imagePullSecrets?: string[];
}

export interface WorkerCounts {
  total?: number;
  pending?: number;
  running?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
}

export interface ReplicaStatus {
  name?: string;
  index?: number;
  state?: string;
  ready?: boolean;
  node?: string;
  restarts?: number;
  exitCode?: number;
  reason?: string;
  message?: string;
  startTime?: string;
  finishTime?: string;
  ranks?: number[];
  pod?: string;
}

export interface Transition {
  phase?: string;
  reason?: string;
  message?: string;
  time?: string;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ResourceTotals {
  cpu?: string;
  memory?: string;
  gpus?: number;
  slots?: number;
}

export interface JobStatus {
  phase?: string;
  reason?: string;
  message?: string;
  startTime?: string;
  completionTime?: string;
  workers?: WorkerCounts;
  launcher?: ReplicaStatus;
  workerStatuses?: ReplicaStatus[];
  firstFailedWorker?: number;
  firstFailedRank?: number;
  attempts?: number;
  history?: Transition[];
  conditions?: Condition[];
  requested?: ResourceTotals;
  queuePosition?: number;
  exitCode?: number;
}

export interface MPIJob {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: MPIJobSpec;
  status?: JobStatus;
}

export interface CreateJobResponse {
  job?: MPIJob;
  warnings?: string[];
}

export interface ListJobsResponse {
  items?: MPIJob[];
  nextPageToken?: string;
  resourceVersion?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNCED';

export interface WatchEvent {
  type: WatchEventType;
  job?: MPIJob;
}

export interface LogLine {
  source?: string;
  worker?: number;
  rank?: number;
  stream?: string;
  time?: string;
  text?: string;
}

export interface JobEvent {
  type?: string;
  reason?: string;
  message?: string;
  object?: string;
  firstTime?: string;
  lastTime?: string;
  count?: number;
  source?: string;
}

export interface ResourceCapacity {
  name?: string;
  hard?: string;
  used?: string;
  available?: string;
}

export interface Capacity {
  source?: string;
  resources?: ResourceCapacity[];
}

/** The answer of GET /api/v1/namespaces/{ns}/cani. */
export interface CanIResponse {
  allowed?: boolean;
  /** Why not, and how to get access. */
  reason?: string;
  user?: string;
}

/** One measurement of a replica's resource use. */
export interface MetricSample {
  time?: string;
  /** CPU in use, in cores (1.5 = one and a half cores busy); omitted when 0. */
  cpuCores?: number;
  /** Resident memory in bytes; omitted when 0. */
  memoryBytes?: number;
}

export interface ReplicaMetrics {
  /** "launcher" or "worker-N". */
  name?: string;
  /** -1 for the launcher; omitted for worker 0. */
  index?: number;
  samples?: MetricSample[];
}

/** The answer of GET /api/v1/namespaces/{ns}/mpijobs/{name}/metrics. */
export interface JobMetrics {
  /** Absent (false) when the engine cannot measure this job; message says why. */
  available?: boolean;
  message?: string;
  /** Where the numbers come from, e.g. "local engine: /proc sampling". */
  source?: string;
  /** Seconds between samples. */
  intervalSeconds?: number;
  /** The launcher first (index -1), then the workers. */
  replicas?: ReplicaMetrics[];
}

export interface Version {
  version?: string;
  gitCommit?: string;
  buildDate?: string;
  goVersion?: string;
  engine?: string;
  engineVersion?: string;
}

export interface JobTemplate {
  name?: string;
  namespace?: string;
  description?: string;
  job?: MPIJob;
  createTime?: string;
  creator?: string;
}

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

/** The JSON error body of every non-2xx answer. */
export interface ErrorBody {
  code?: number;
  status?: number | string;
  reason?: string;
  message?: string;
  fieldErrors?: FieldError[];
  quota?: QuotaViolation[];
  hint?: string;
}

export interface LogQuery {
  /** Worker index; undefined means the launcher (unless all). */
  worker?: number;
  all?: boolean;
  follow?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  previous?: boolean;
}

export function jobKey(j: MPIJob): string {
  return `${j.metadata?.namespace ?? ''}/${j.metadata?.name ?? ''}`;
}
