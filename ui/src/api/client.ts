// The API client: one small interface (Api) that pages use through React
// context, one implementation over fetch (HttpApi). Tests pass their own Api.
import type {
  CanIResponse,
  Capacity,
  CreateJobResponse,
  ErrorBody,
  FieldError,
  JobEvent,
  JobMetrics,
  JobTemplate,
  ListJobsResponse,
  LogLine,
  LogQuery,
  MPIJob,
  QuotaViolation,
  Version,
  WatchEvent,
} from './types';

/** ApiError is a non-2xx answer (or a stream error) with the server's body. */
export class ApiError extends Error {
  readonly httpStatus: number;
  readonly reason: string;
  readonly fieldErrors: FieldError[];
  readonly quota: QuotaViolation[];
  readonly hint?: string;

  constructor(httpStatus: number, body: ErrorBody) {
    super(body.message || `request failed with HTTP ${httpStatus}`);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.reason = body.reason || reasonForStatus(httpStatus);
    this.fieldErrors = body.fieldErrors ?? [];
    this.quota = body.quota ?? [];
    this.hint = body.hint || undefined;
  }

  get unauthenticated(): boolean {
    return this.httpStatus === 401 || this.reason === 'Unauthenticated';
  }
}

function reasonForStatus(s: number): string {
  switch (s) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthenticated';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 429:
      return 'TooManyRequests';
    case 422:
      return 'Invalid';
    case 503:
      return 'Unavailable';
    default:
      return s === 0 ? 'NetworkError' : 'Internal';
  }
}

export interface WatchOptions {
  namespace?: string;
  name?: string;
  labelSelector?: string;
  sendInitialEvents?: boolean;
}

/** Api is everything the dashboard asks of the Training Service. */
export interface Api {
  version(): Promise<Version>;
  listJobs(namespace?: string, labelSelector?: string): Promise<MPIJob[]>;
  getJob(namespace: string, name: string): Promise<MPIJob>;
  createJob(namespace: string, job: MPIJob, dryRun: boolean): Promise<CreateJobResponse>;
  createJobFromManifest(namespace: string, manifest: string, dryRun: boolean): Promise<CreateJobResponse>;
  deleteJob(namespace: string, name: string): Promise<void>;
  suspendJob(namespace: string, name: string): Promise<MPIJob>;
  resumeJob(namespace: string, name: string): Promise<MPIJob>;
  listEvents(namespace: string, name: string): Promise<JobEvent[]>;
  /** Recent CPU and memory use per replica, when the engine measures it. */
  getJobMetrics(namespace: string, name: string): Promise<JobMetrics>;
  capacity(namespace: string): Promise<Capacity>;
  listTemplates(namespace: string): Promise<JobTemplate[]>;
  getTemplate(namespace: string, name: string): Promise<JobTemplate>;
  createTemplate(namespace: string, template: JobTemplate): Promise<JobTemplate>;
  deleteTemplate(namespace: string, name: string): Promise<void>;
  /**
   * Says whether the caller may do verb on resource (mpijobs), optionally on
   * one job, so the UI offers only actions that will succeed. Optional:
   * test doubles and older servers may not answer it.
   */
  canI?(namespace: string, verb: string, resource: string, name?: string): Promise<CanIResponse>;
  /** Streams watch events in batches until the stream ends or signal aborts. */
  watchJobs(opts: WatchOptions, onEvents: (events: WatchEvent[]) => void, signal: AbortSignal): Promise<void>;
  /** Streams log lines in batches until the stream ends or signal aborts. */
  streamLogs(
    namespace: string,
    name: string,
    query: LogQuery,
    onLines: (lines: LogLine[]) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

const enc = encodeURIComponent;
const MAX_RETRIES_429 = 5;

/** logQueryString turns a log query into the URL query of GET .../logs. */
export function logQueryString(q: LogQuery): string {
  const p = new URLSearchParams();
  if (q.all) p.set('all', 'true');
  else if (q.worker !== undefined) p.set('worker', String(q.worker));
  if (q.follow) p.set('follow', 'true');
  if (q.tailLines !== undefined) p.set('tailLines', String(q.tailLines));
  if (q.sinceSeconds !== undefined) p.set('sinceSeconds', String(q.sinceSeconds));
  if (q.previous) p.set('previous', 'true');
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function watchPath(o: WatchOptions): string {
  const base = o.namespace ? `/api/v1/watch/namespaces/${enc(o.namespace)}/mpijobs` : '/api/v1/watch/mpijobs';
  const p = new URLSearchParams();
  if (o.name) p.set('name', o.name);
  if (o.labelSelector) p.set('labelSelector', o.labelSelector);
  if (o.sendInitialEvents === false) p.set('sendInitialEvents', 'false');
  const s = p.toString();
  return s ? `${base}?${s}` : base;
}

/**
 * readNdjson reads a newline-delimited JSON stream of grpc-gateway messages
 * ({"result": ...} or {"error": ...}) and hands the results over one batch
 * per network chunk, so a 1,000-job initial list costs a few renders.
 */
export async function readNdjson<T>(
  body: ReadableStream<Uint8Array>,
  onBatch: (items: T[]) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const parse = (line: string, out: T[]) => {
    if (!line.trim()) return;
    const msg = JSON.parse(line) as { result?: T; error?: ErrorBody & { code?: number; message?: string } };
    if (msg.error) {
      throw new ApiError(httpStatusForGrpc(msg.error.code), {
        ...msg.error,
        reason: msg.error.reason,
        message: msg.error.message,
      });
    }
    if (msg.result !== undefined) out.push(msg.result);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    const out: T[] = [];
    for (const line of lines) parse(line, out);
    if (out.length) onBatch(out);
  }
  const out: T[] = [];
  parse(buf + decoder.decode(), out);
  if (out.length) onBatch(out);
}

/** httpStatusForGrpc maps the gRPC code in a stream error to an HTTP status. */
export function httpStatusForGrpc(code?: number): number {
  switch (code) {
    case 3:
      return 422;
    case 5:
      return 404;
    case 6:
      return 409;
    case 7:
      return 403;
    case 8:
      return 403;
    case 14:
      return 503;
    case 16:
      return 401;
    default:
      return 500;
  }
}

export interface HttpApiOptions {
  baseUrl?: string;
  token: () => string | null;
  /** Called once for every 401 so the app can show the login page. */
  onUnauthenticated?: () => void;
  fetch?: typeof fetch;
}

/** HttpApi talks REST/JSON to odh-server with a bearer token. */
export class HttpApi implements Api {
  private readonly o: HttpApiOptions;

  constructor(o: HttpApiOptions) {
    this.o = o;
  }

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json' };
    const t = this.o.token();
    if (t) h.Authorization = `Bearer ${t}`;
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const f = this.o.fetch ?? fetch;
    let res: Response;
    // The server limits requests per user (HTTP 429): wait and retry a few
    // times, so that e.g. a bulk delete of many jobs goes through.
    for (let attempt = 0; ; attempt++) {
      try {
        res = await f(`${this.o.baseUrl ?? ''}${path}`, {
          method,
          headers: this.headers(body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (e) {
        if ((e as Error).name === 'AbortError') throw e;
        throw new ApiError(0, { message: `cannot reach the server: ${(e as Error).message}` });
      }
      if (res.status !== 429 || attempt >= MAX_RETRIES_429) break;
      const after = Number(res.headers.get('Retry-After'));
      await new Promise((r) => setTimeout(r, after > 0 ? after * 1000 : 100 * 2 ** attempt));
    }
    if (!res.ok) {
      let eb: ErrorBody = {};
      try {
        eb = (await res.json()) as ErrorBody;
      } catch {
        eb = { message: `${res.status} ${res.statusText}` };
      }
      const err = new ApiError(res.status, eb);
      if (err.unauthenticated) this.o.onUnauthenticated?.();
      throw err;
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  version() {
    return this.json<Version>('GET', '/api/v1/version');
  }

  async listJobs(namespace?: string, labelSelector?: string) {
    const base = namespace ? `/api/v1/namespaces/${enc(namespace)}/mpijobs` : '/api/v1/mpijobs';
    const items: MPIJob[] = [];
    let token = '';
    do {
      const p = new URLSearchParams();
      if (labelSelector) p.set('labelSelector', labelSelector);
      if (token) p.set('pageToken', token);
      const q = p.toString();
      const r = await this.json<ListJobsResponse>('GET', q ? `${base}?${q}` : base);
      items.push(...(r.items ?? []));
      token = r.nextPageToken ?? '';
    } while (token);
    return items;
  }

  getJob(namespace: string, name: string) {
    return this.json<MPIJob>('GET', `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}`);
  }

  createJob(namespace: string, job: MPIJob, dryRun: boolean) {
    return this.json<CreateJobResponse>('POST', `/api/v1/namespaces/${enc(namespace)}/mpijobs`, { job, dryRun });
  }

  createJobFromManifest(namespace: string, manifest: string, dryRun: boolean) {
    return this.json<CreateJobResponse>('POST', `/api/v1/namespaces/${enc(namespace)}/mpijobs`, { manifest, dryRun });
  }

  async deleteJob(namespace: string, name: string) {
    await this.json('DELETE', `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}`);
  }

  suspendJob(namespace: string, name: string) {
    return this.json<MPIJob>('POST', `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}/suspend`, {});
  }

  canI(namespace: string, verb: string, resource: string, name?: string) {
    const q = new URLSearchParams({ verb, resource });
    if (name) q.set('name', name);
    return this.json<CanIResponse>('GET', `/api/v1/namespaces/${enc(namespace)}/cani?${q.toString()}`);
  }

  resumeJob(namespace: string, name: string) {
    return this.json<MPIJob>('POST', `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}/resume`, {});
  }

  async listEvents(namespace: string, name: string) {
    const r = await this.json<{ items?: JobEvent[] }>(
      'GET',
      `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}/events`,
    );
    return r.items ?? [];
  }

  getJobMetrics(namespace: string, name: string) {
    return this.json<JobMetrics>('GET', `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}/metrics`);
  }

  capacity(namespace: string) {
    return this.json<Capacity>('GET', `/api/v1/namespaces/${enc(namespace)}/capacity`);
  }

  async listTemplates(namespace: string) {
    const r = await this.json<{ items?: JobTemplate[] }>('GET', `/api/v1/namespaces/${enc(namespace)}/templates`);
    return r.items ?? [];
  }

  getTemplate(namespace: string, name: string) {
    return this.json<JobTemplate>('GET', `/api/v1/namespaces/${enc(namespace)}/templates/${enc(name)}`);
  }

  createTemplate(namespace: string, template: JobTemplate) {
    return this.json<JobTemplate>('POST', `/api/v1/namespaces/${enc(namespace)}/templates`, { template });
  }

  async deleteTemplate(namespace: string, name: string) {
    await this.json('DELETE', `/api/v1/namespaces/${enc(namespace)}/templates/${enc(name)}`);
  }

  async watchJobs(opts: WatchOptions, onEvents: (events: WatchEvent[]) => void, signal: AbortSignal) {
    const res = await this.send('GET', watchPath(opts), undefined, signal);
    if (res.body) await readNdjson<WatchEvent>(res.body, onEvents);
  }

  async streamLogs(
    namespace: string,
    name: string,
    query: LogQuery,
    onLines: (lines: LogLine[]) => void,
    signal: AbortSignal,
  ) {
    const path = `/api/v1/namespaces/${enc(namespace)}/mpijobs/${enc(name)}/logs${logQueryString(query)}`;
    const res = await this.send('GET', path, undefined, signal);
    if (res.body) await readNdjson<LogLine>(res.body, onLines);
  }
}

/** Identity is who the server takes a token for. */
export type Identity = { accepted: true; user: string } | { accepted: false; message: string };

/**
 * whoIs asks the server whom a token belongs to — the user of a CanI
 * answer — without storing the token or reporting a 401 to the app.
 * Errors other than "not accepted" (network, 5xx) are thrown.
 */
export async function whoIs(token: string, o: Omit<HttpApiOptions, 'token' | 'onUnauthenticated'> = {}): Promise<Identity> {
  const api = new HttpApi({ ...o, token: () => token });
  try {
    const r = await api.canI('default', 'get', 'mpijobs');
    return { accepted: true, user: r.user ?? '' };
  } catch (e) {
    if (e instanceof ApiError && e.unauthenticated) return { accepted: false, message: e.message };
    throw e;
  }
}
