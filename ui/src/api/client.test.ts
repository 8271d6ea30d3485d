import { describe, expect, it, vi } from 'vitest';
import { ApiError, HttpApi, logQueryString, readNdjson, watchPath, whoIs } from './client';
import type { WatchEvent } from './types';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe('readNdjson', () => {
  it('handles lines split across chunks and batches per chunk', async () => {
    const batches: WatchEvent[][] = [];
    await readNdjson<WatchEvent>(
      streamOf(['{"result":{"type":"ADDED","job":{"metadata":{"name":"a"}}}}\n{"result":{"ty', 'pe":"SYNCED"}}\n', '{"result":{"type":"DELETED"}}']),
      (b) => batches.push(b),
    );
    expect(batches.map((b) => b.map((e) => e.type))).toEqual([['ADDED'], ['SYNCED'], ['DELETED']]);
  });
  it('turns a stream error into an ApiError', async () => {
    const p = readNdjson(streamOf(['{"error":{"code":5,"message":"job x not found"}}\n']), () => {});
    await expect(p).rejects.toMatchObject({ httpStatus: 404, reason: 'NotFound', message: 'job x not found' });
  });
});

describe('query strings', () => {
  it('builds log queries', () => {
    expect(logQueryString({})).toBe('');
    expect(logQueryString({ worker: 1, follow: true })).toBe('?worker=1&follow=true');
    expect(logQueryString({ all: true, worker: 3, tailLines: 100 })).toBe('?all=true&tailLines=100');
  });
  it('builds watch paths', () => {
    expect(watchPath({})).toBe('/api/v1/watch/mpijobs');
    expect(watchPath({ namespace: 'team-a', name: 'x' })).toBe('/api/v1/watch/namespaces/team-a/mpijobs?name=x');
  });
});

describe('HttpApi', () => {
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

  it('sends the bearer token and the dry-run body', async () => {
    const f = vi.fn(async () => json(200, { job: { metadata: { name: 'x' } }, warnings: ['w'] }));
    const api = new HttpApi({ token: () => 'T0K', fetch: f as unknown as typeof fetch });
    const r = await api.createJob('team-a', { metadata: { name: 'x' } }, true);
    expect(r.warnings).toEqual(['w']);
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/namespaces/team-a/mpijobs');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T0K');
    expect(JSON.parse(init.body as string)).toEqual({ job: { metadata: { name: 'x' } }, dryRun: true });
  });
  it('raises the error body with field errors, and signals 401', async () => {
    const onUnauth = vi.fn();
    const f = vi
      .fn()
      .mockResolvedValueOnce(
        json(422, { code: 422, reason: 'Invalid', message: 'invalid job', fieldErrors: [{ field: 'metadata.name', type: 'Required', message: 'a job name is required' }] }),
      )
      .mockResolvedValueOnce(json(401, { reason: 'Unauthenticated', message: 'no token' }));
    const api = new HttpApi({ token: () => null, fetch: f as unknown as typeof fetch, onUnauthenticated: onUnauth });
    const e = await api.createJob('default', {}, true).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.fieldErrors[0].field).toBe('metadata.name');
    expect(onUnauth).not.toHaveBeenCalled();
    await expect(api.version()).rejects.toMatchObject({ unauthenticated: true });
    expect(onUnauth).toHaveBeenCalledOnce();
  });
  it('asks for job metrics with the token, zero fields left out', async () => {
    const f = vi.fn(async () => json(200, { source: 'local', intervalSeconds: 2, available: true, replicas: [{ name: 'worker-0', samples: [{ time: '2026-11-29T12:00:00Z' }] }] }));
    const api = new HttpApi({ token: () => 'T0K', fetch: f as unknown as typeof fetch });
    const m = await api.getJobMetrics('team a', 'pi');
    expect(m.replicas?.[0].index).toBeUndefined();
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/namespaces/team%20a/mpijobs/pi/metrics');
    expect(init.method).toBe('GET');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T0K');
  });
  it('follows list pages', async () => {
    const f = vi
      .fn()
      .mockResolvedValueOnce(json(200, { items: [{ metadata: { name: 'a' } }], nextPageToken: 'p2' }))
      .mockResolvedValueOnce(json(200, { items: [{ metadata: { name: 'b' } }] }));
    const api = new HttpApi({ token: () => null, fetch: f as unknown as typeof fetch });
    expect((await api.listJobs()).map((j) => j.metadata?.name)).toEqual(['a', 'b']);
    expect(f.mock.calls[1][0]).toBe('/api/v1/mpijobs?pageToken=p2');
  });
});

describe('HttpApi rate limiting', () => {
  it('retries after HTTP 429', async () => {
    const f = vi
      .fn()
      .mockResolvedValueOnce(new Response('{"reason":"TooManyRequests","message":"slow down"}', { status: 429 }))
      .mockResolvedValueOnce(new Response('{"version":"v1"}', { status: 200 }));
    const api = new HttpApi({ token: () => null, fetch: f as unknown as typeof fetch });
    expect(await api.version()).toEqual({ version: 'v1' });
    expect(f).toHaveBeenCalledTimes(2);
  });
});

describe('whoIs', () => {
  it('asks with the given token, not the session\'s, and tells a refused token from an error', async () => {
    const seen: string[] = [];
    const fetch = vi.fn(async (_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      seen.push(auth);
      if (auth === 'Bearer good') return new Response(JSON.stringify({ allowed: true, user: 'alice' }), { status: 200 });
      if (auth === 'Bearer broken') return new Response('{"message":"boom"}', { status: 500 });
      return new Response(JSON.stringify({ reason: 'Unauthenticated', message: 'the bearer token is not valid' }), { status: 401 });
    }) as unknown as typeof globalThis.fetch;
    expect(await whoIs('good', { fetch })).toEqual({ accepted: true, user: 'alice' });
    expect(await whoIs('bad', { fetch })).toEqual({ accepted: false, message: 'the bearer token is not valid' });
    await expect(whoIs('broken', { fetch })).rejects.toMatchObject({ httpStatus: 500 });
    expect(seen).toEqual(['Bearer good', 'Bearer bad', 'Bearer broken']);
  });
});
