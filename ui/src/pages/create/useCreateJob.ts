// The creation page's effects around the model in model.ts: load a job to
// clone or a template named in the URL, fetch the namespace's templates and
// capacity, validate with a debounced server dry run, and submit.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { ApiError, type Api } from '../../api/client';
import type { Capacity, JobTemplate, MPIJob } from '../../api/types';
import { useDebounced } from '../../hooks';
import { ADVANCED_KEYS, mapFieldErrors, type FormKey } from '../../lib/form';
import { createReducer, firstErrorField, initialCreateState, viewOf } from './model';

export type Key = [namespace: string, name: string];

export function splitKey(k: string | null): Key | null {
  if (!k) return null;
  const i = k.indexOf('/');
  return i > 0 ? [k.slice(0, i), k.slice(i + 1)] : null;
}

/** useNamespaceInfo fetches the templates and the capacity of a namespace, once its name settles. */
export function useNamespaceInfo(api: Api, namespace: string) {
  const [templates, setTemplates] = useState<JobTemplate[]>([]);
  const [capacity, setCapacity] = useState<Capacity>();
  const [capacityError, setCapacityError] = useState<string>();
  const ns = useDebounced(namespace, 400);
  useEffect(() => {
    let live = true;
    api.listTemplates(ns).then((t) => live && setTemplates(t), () => live && setTemplates([]));
    api.capacity(ns).then(
      (c) => {
        if (!live) return;
        setCapacity(c);
        setCapacityError(undefined);
      },
      (e: Error) => {
        if (!live) return;
        setCapacity(undefined);
        setCapacityError(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [api, ns]);
  const reloadTemplates = useCallback(async () => {
    const t = await api.listTemplates(namespace).catch(() => null);
    if (t) setTemplates(t);
  }, [api, namespace]);
  return { templates, capacity, capacityError, reloadTemplates };
}

/** useStartFrom loads the job to clone (`from`) or the template (`template`) named in the URL. */
function useStartFrom(api: Api, from: string | null, template: string | null, dispatch: React.Dispatch<Parameters<typeof createReducer>[1]>) {
  useEffect(() => {
    const f = splitKey(from);
    const t = splitKey(template);
    const failed = (e: Error) => dispatch({ type: 'loadFailed', message: e.message });
    if (f) {
      api.getJob(f[0], f[1]).then((j) => dispatch({ type: 'load', job: j, rename: true }), failed);
    } else if (t) {
      api.getTemplate(t[0], t[1]).then((tpl) => {
        if (!tpl.job) return;
        const job: MPIJob = { ...tpl.job, metadata: { ...tpl.job.metadata, namespace: tpl.job.metadata?.namespace ?? tpl.namespace } };
        dispatch({ type: 'load', job });
      }, failed);
    }
  }, [api, from, template, dispatch]);
}

/**
 * useDryRun validates what the page describes with the server, 400 ms after
 * the last change; answers to older requests are dropped. It returns
 * `supersede`, called when Create sends the job: the submit's answer is
 * newer than any dry run of the same job, so those are dropped or skipped.
 */
function useDryRun(api: Api, manifest: string | null, namespace: string, job: MPIJob, dispatch: React.Dispatch<Parameters<typeof createReducer>[1]>) {
  const current = manifest ?? JSON.stringify(job);
  const key = useDebounced(current, 400);
  const seq = useRef(0);
  const submittedKey = useRef<string | null>(null);
  useEffect(() => {
    if (key === submittedKey.current) return;
    const n = ++seq.current;
    const req = manifest ? api.createJobFromManifest(namespace, manifest, true) : api.createJob(namespace, JSON.parse(key) as MPIJob, true);
    req.then(
      (r) => n === seq.current && dispatch({ type: 'validated', warnings: r.warnings ?? [] }),
      (e: unknown) => {
        if (n !== seq.current || !(e instanceof ApiError)) return;
        const errors = e.fieldErrors.length ? e.fieldErrors : e.reason === 'Invalid' || e.reason === 'BadRequest' ? [{ field: '', message: e.message }] : [];
        dispatch({ type: 'invalid', errors });
      },
    );
    // Only a settled change of the job (key) starts a dry run.
  }, [api, key]);
  return () => {
    submittedKey.current = current;
    seq.current++;
  };
}

/** useCreateJob is the creation page's state, derived view and actions. */
export function useCreateJob(api: Api, opts: { namespace: string | null; from: string | null; template: string | null; onCreated: (namespace: string, name: string) => void }) {
  const [state, dispatch] = useReducer(createReducer, opts.namespace ?? 'default', initialCreateState);
  const view = useMemo(() => viewOf(state), [state]);
  useStartFrom(api, opts.from, opts.template, dispatch);
  const supersedeDryRun = useDryRun(api, state.manifest, view.namespace, view.job, dispatch);

  const focusFirstError = (keys: FormKey[]) => {
    if (keys.some((k) => ADVANCED_KEYS.includes(k))) dispatch({ type: 'advanced', open: true });
    setTimeout(() => {
      const first = firstErrorField(state.form, keys);
      if (first) document.getElementById(`field-${first}`)?.focus();
      else document.getElementById('create-errors')?.focus();
    }, 50);
  };

  const submit = async () => {
    dispatch({ type: 'submit' });
    if (state.view === 'yaml' && state.yamlError) return;
    const localKeys = Object.keys(view.local) as FormKey[];
    if (localKeys.length) {
      focusFirstError(localKeys);
      return;
    }
    dispatch({ type: 'submitting' });
    supersedeDryRun();
    try {
      const r = state.manifest ? await api.createJobFromManifest(view.namespace, state.manifest, false) : await api.createJob(view.namespace, view.job, false);
      dispatch({ type: 'submitted' });
      const m = r.job?.metadata;
      opts.onCreated(m?.namespace ?? view.namespace, m?.name ?? state.form.name);
    } catch (e) {
      if (e instanceof ApiError) {
        dispatch({ type: 'submitFailed', error: { message: e.message, hint: e.hint, quota: e.quota }, fieldErrors: e.fieldErrors });
        focusFirstError(Object.keys(mapFieldErrors(e.fieldErrors).byKey) as FormKey[]);
      } else {
        dispatch({ type: 'submitFailed', error: { message: (e as Error).message, quota: [] } });
      }
    }
  };

  return { state, view, dispatch, submit };
}
