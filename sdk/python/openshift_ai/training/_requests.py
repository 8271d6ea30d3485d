"""Request building and response decoding shared by the blocking and the
asyncio clients, so that both send exactly the same requests."""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import json
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._time import format_rfc3339, parse_rfc3339
from .api import Request
from .models import API_VERSION, MPIJobSpec

WorkerSelector = Union[None, int, str]
Since = Union[None, int, float, _dt.timedelta, _dt.datetime, str]


def create_request(
    spec: Union[MPIJobSpec, Mapping[str, Any], str],
    namespace: str,
    dry_run: bool,
) -> Request:
    """POST .../mpijobs for a spec, a job document or a manifest text. The
    server checks every rule (types, unknown fields, values) and answers
    with all the field errors at once; nothing here second-guesses it."""
    body: Dict[str, Any]
    if isinstance(spec, Mapping) and spec.get("apiVersion") not in (None, "", API_VERSION):
        # An upstream kubeflow.org/v2beta1 MPIJob (or anything else): the
        # server parses and validates manifests of every format it knows.
        spec = json.dumps(spec)
    if isinstance(spec, str):
        body = {"manifest": spec}
        ns = namespace
    elif isinstance(spec, MPIJobSpec):
        ns = spec.namespace or namespace
        body = {"job": spec.with_namespace(ns).to_dict()}
    elif isinstance(spec, Mapping):
        doc = copy.deepcopy(dict(spec))
        meta = doc.get("metadata")
        if meta is None:
            meta = doc["metadata"] = {}
        ns = namespace
        if isinstance(meta, dict):
            given = meta.get("namespace")
            if isinstance(given, str) and given:
                ns = given
            elif not given:
                meta["namespace"] = ns
            # any other value is the server's to report
        body = {"job": doc}
    else:
        raise TypeError("a job is an MPIJobSpec, a job document (dict) or manifest text (str), not %s" % type(spec).__name__)
    if dry_run:
        body["dryRun"] = True
    return Request.of("CreateJob", {"namespace": ns}, body=body)


def list_request(
    namespace: Optional[str],
    label_selector: Optional[str],
    phase: Union[None, str, Sequence[str]],
    page_size: Optional[int],
    page_token: Optional[str],
) -> Request:
    """GET .../mpijobs in one namespace, or in all (namespace None)."""
    phases: Optional[List[str]] = None
    if isinstance(phase, str):
        phases = [phase]
    elif phase is not None:
        phases = list(phase)
    query = {"labelSelector": label_selector or None, "phase": phases or None, "pageSize": page_size, "pageToken": page_token or None}
    if namespace is None:
        return Request.of("ListAllJobs", query=query)
    return Request.of("ListJobs", {"namespace": namespace}, query=query)


def watch_request(
    namespace: Optional[str],
    name: Optional[str] = None,
    label_selector: Optional[str] = None,
    send_initial_events: bool = True,
) -> Request:
    """GET /api/v1/watch/... for one job, a namespace or all namespaces."""
    query = {"name": name or None, "labelSelector": label_selector or None, "sendInitialEvents": send_initial_events}
    if namespace is None:
        return Request.of("WatchAllJobs", query=query)
    return Request.of("WatchJobs", {"namespace": namespace}, query=query)


def logs_request(
    namespace: str,
    name: str,
    worker: WorkerSelector = None,
    follow: bool = False,
    tail: Optional[int] = None,
    since: Since = None,
    previous: bool = False,
) -> Request:
    """GET .../logs. ``worker``: None or "launcher" = the launcher, an int =
    that worker, "all" = every source merged."""
    query: Dict[str, Any] = {}
    if worker == "all":
        query["all"] = True
    elif worker is None or worker == "launcher":
        pass
    elif isinstance(worker, int) and not isinstance(worker, bool):
        if worker < 0:
            raise ValueError("worker must be >= 0, got %d" % worker)
        query["worker"] = worker
    elif isinstance(worker, str) and worker.startswith("worker-") and worker[7:].isdigit():
        query["worker"] = int(worker[7:])
    else:
        raise ValueError("worker must be None (the launcher), a worker index, 'worker-N', 'launcher' or 'all'; got %r" % (worker,))
    if follow:
        query["follow"] = True
    if tail is not None:
        query["tailLines"] = int(tail)
    if since is not None:
        if isinstance(since, _dt.datetime):
            query["sinceTime"] = format_rfc3339(since)
        elif isinstance(since, _dt.timedelta):
            query["sinceSeconds"] = max(1, math.ceil(since.total_seconds()))
        elif isinstance(since, (int, float)) and not isinstance(since, bool):
            query["sinceSeconds"] = max(1, math.ceil(since))
        elif isinstance(since, str) and parse_rfc3339(since) is not None:
            query["sinceTime"] = since
        else:
            raise ValueError("since must be seconds, a timedelta, a datetime or an RFC 3339 time; got %r" % (since,))
    if previous:
        query["previous"] = True
    return Request.of("GetLogs", {"namespace": namespace, "name": name}, query=query)


def since_floor(since: Since) -> Optional[_dt.datetime]:
    """The oldest time a log request asks for, fixed now (None: all)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    if isinstance(since, _dt.datetime):
        return since if since.tzinfo else since.replace(tzinfo=_dt.timezone.utc)
    if isinstance(since, _dt.timedelta):
        return now - since
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        return now - _dt.timedelta(seconds=since)
    if isinstance(since, str):
        return parse_rfc3339(since)
    return None


def resume_logs_request(first: Request, since: Optional[_dt.datetime], floor: Optional[_dt.datetime]) -> Request:
    """The request that resumes a log stream after lines up to ``since``
    were delivered: no tail, and sinceTime (never before the caller's)."""
    query = dict(first.query)
    if since is not None:
        if floor is not None and floor > since:
            since = floor
        for k in ("tailLines", "sinceSeconds"):
            query.pop(k, None)
        query["sinceTime"] = format_rfc3339(since)
    return Request(first.op, dict(first.params), query, None)


def delete_request(namespace: str, name: str, wait: bool, dry_run: bool) -> Request:
    """DELETE .../mpijobs/{name}."""
    return Request.of("DeleteJob", {"namespace": namespace, "name": name}, query={"wait": wait or None, "dryRun": dry_run or None})


def format_log_line(line: Any, prefix: bool) -> str:
    """A LogLine as text; with ``prefix`` its source first ("[worker-1] ...")."""
    text = line.text.rstrip("\n")
    return "[%s] %s" % (line.source, text) if prefix and line.source else text


def join_lines(lines: List[str]) -> str:
    """Log lines as one text, newline-terminated."""
    return "".join(s + "\n" for s in lines)


def template_body(name: str, job: Union[MPIJobSpec, Mapping[str, Any]], description: str, namespace: str) -> Dict[str, Any]:
    """The body of CreateTemplate."""
    doc = job.to_dict() if isinstance(job, MPIJobSpec) else copy.deepcopy(dict(job))
    return {"template": {"name": name, "namespace": namespace, "description": description, "job": doc}}


def template_check(job: Union[MPIJobSpec, Mapping[str, Any]]) -> Union[MPIJobSpec, Dict[str, Any]]:
    """The job a template's spec is dry-run as: the same, with a placeholder
    name when it has none (a template's name may be left to its users)."""
    if isinstance(job, MPIJobSpec):
        return job if (job.name or job.generate_name) else dataclasses.replace(job, generate_name="template-")
    doc = copy.deepcopy(dict(job))
    meta = doc.get("metadata")
    if meta is None:
        meta = doc["metadata"] = {}
    if isinstance(meta, dict) and not meta.get("name") and not meta.get("generateName"):
        meta["generateName"] = "template-"
    return doc


def new_history(prev: int, history: Sequence[Any]) -> Tuple[List[Any], int]:
    """Transitions added since ``prev`` entries were seen."""
    if len(history) < prev:
        prev = 0
    return list(history[prev:]), len(history)
