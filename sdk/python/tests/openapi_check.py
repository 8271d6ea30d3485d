"""Checks that the SDK matches an OpenAPI document of the Training Service:
used against gen/openapi/training.openapi.json (unit test) and the live
server's /openapi.json (integration test)."""

import dataclasses
import datetime as dt
from typing import Any, Dict, List

from tests import _paths  # noqa: F401
from openshift_ai.training import _requests as rq
from openshift_ai.training import models, notifications
from openshift_ai.training.api import OPERATIONS, Request
from openshift_ai.training.models import MPIJobSpec

PREFIX = "odh.training.v1."


def operation(doc: Dict[str, Any], method: str, path: str) -> Dict[str, Any]:
    return doc["paths"].get(path, {}).get(method.lower())


def sample_requests() -> List[Request]:
    """One request per way the clients call each operation, with every
    optional query parameter set."""
    spec = MPIJobSpec(name="pi", command=["python3", "pi.py"])
    reqs = [
        rq.create_request(spec, "ns", True),
        rq.create_request("kind: MPIJob", "ns", True),
        rq.create_request({"metadata": {"name": "pi"}, "spec": {"command": ["x"]}}, "ns", True),
        rq.list_request("ns", "a=b", ["Running", "Queued"], 10, "tok"),
        rq.list_request(None, "a=b", "Running", 10, "tok"),
        rq.watch_request("ns", "pi", "a=b", False),
        rq.watch_request(None, "pi", "a=b", True),
        rq.logs_request("ns", "pi", 1, True, 10, 5, True),
        rq.logs_request("ns", "pi", "all", False, None, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
        rq.delete_request("ns", "pi", True, True),
        Request.of("GetJob", {"namespace": "ns", "name": "pi"}),
        Request.of("SuspendJob", {"namespace": "ns", "name": "pi"}, body={}),
        Request.of("ResumeJob", {"namespace": "ns", "name": "pi"}, body={}),
        Request.of("ListEvents", {"namespace": "ns", "name": "pi"}),
        Request.of("GetCapacity", {"namespace": "ns"}),
        Request.of("GetVersion"),
        Request.of("CreateTemplate", {"namespace": "ns"}, body=rq.template_body("t", spec, "d", "ns")),
        Request.of("ListTemplates", {"namespace": "ns"}),
        Request.of("GetTemplate", {"namespace": "ns", "name": "t"}),
        Request.of("DeleteTemplate", {"namespace": "ns", "name": "t"}),
        notifications._create_request("ns", "ops", "https://hooks.example.com/", "s" * 16, ["failed"], "pi", "a=b", "slack"),
        notifications._list_request("ns"),
        notifications._delete_request("ns", "ops"),
        notifications._history_request("ns", "ops"),
    ]
    return reqs


def check_operations(doc: Dict[str, Any]) -> List[str]:
    """Problems: SDK operations or parameters the document lacks, and
    document operations the SDK lacks."""
    problems = []
    for name, op in OPERATIONS.items():
        if operation(doc, op.method, op.path) is None:
            problems.append("%s: %s %s is not in the OpenAPI document" % (name, op.method, op.path))
    declared = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in ("get", "post", "put", "patch", "delete")}
    used = {(op.method, op.path) for op in OPERATIONS.values()}
    for m, p in sorted(declared - used):
        problems.append("the SDK has no operation for %s %s" % (m, p))
    for req in sample_requests():
        o = operation(doc, req.op.method, req.op.path)
        if o is None:
            continue
        params = {(p["in"], p["name"]) for p in o.get("parameters", [])}
        for k in req.params:
            if ("path", k) not in params:
                problems.append("%s: path parameter %s not declared" % (req.op.path, k))
        for k, v in req.query.items():
            if v is not None and ("query", k) not in params:
                problems.append("%s %s: query parameter %s not declared" % (req.op.method, req.op.path, k))
        if req.body is not None:
            body = o.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            props = _props(doc, body)
            if props is not None:
                for k in req.body:
                    if k not in props:
                        problems.append("%s %s: body field %s not declared" % (req.op.method, req.op.path, k))
    return problems


def _schema(doc: Dict[str, Any], s: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
    return s


def _props(doc: Dict[str, Any], s: Dict[str, Any]):
    s = _schema(doc, s)
    return s.get("properties")


def check_schemas(doc: Dict[str, Any]) -> List[str]:
    """Problems: model fields the API does not have, and API fields the
    models lack (the server checks values; the models must carry every
    field so that nothing is dropped)."""
    problems = []
    for cls_name, schema_name in [
        ("EnvVar", "EnvVar"),
        ("Resources", "Resources"),
        ("WorkerSpec", "WorkerSpec"),
        ("LauncherSpec", "LauncherSpec"),
        ("RunPolicy", "RunPolicy"),
        ("Scheduling", "Scheduling"),
        ("Volume", "Volume"),
        ("Toleration", "Toleration"),
        ("ObjectMeta", "ObjectMeta"),
        ("WorkerCounts", "WorkerCounts"),
        ("WorkerStatus", "ReplicaStatus"),
        ("Transition", "Transition"),
        ("Condition", "Condition"),
        ("ResourceTotals", "ResourceTotals"),
        ("JobStatus", "JobStatus"),
        ("Event", "Event"),
        ("LogLine", "LogLine"),
        ("ResourceCapacity", "ResourceCapacity"),
        ("Capacity", "Capacity"),
        ("Version", "Version"),
        ("JobTemplate", "JobTemplate"),
        ("JobMetrics", "JobMetrics"),
        ("ReplicaMetrics", "ReplicaMetrics"),
        ("MetricSample", "MetricSample"),
        ("AccessReview", "CanIResponse"),
        ("NotificationSubscription", "NotificationSubscription"),
        ("NotificationAttempt", "NotificationAttempt"),
        ("NotificationDeadLetter", "NotificationDeadLetter"),
        ("NotificationHistory", "NotificationHistory"),
    ]:
        cls = getattr(models, cls_name, None) or getattr(notifications, cls_name)
        schema = doc["components"]["schemas"].get(PREFIX + schema_name)
        if schema is None:
            problems.append("schema %s missing" % schema_name)
            continue
        names = {cls._json_name(f.name) for f in dataclasses.fields(cls) if f.name not in cls._skip}
        props = set(schema.get("properties", {}))
        if names != props:
            problems.append("model %s: API fields %s, model fields %s" % (cls_name, sorted(props), sorted(names)))
    # MPIJobSpec flattens metadata + spec.
    spec_fields = set()
    for f in dataclasses.fields(MPIJobSpec):
        if f.name not in MPIJobSpec._META:
            spec_fields.add(MPIJobSpec._SPEC_NAMES.get(f.name) or models._camel(f.name))
    api_spec = set(doc["components"]["schemas"][PREFIX + "MPIJobSpec"]["properties"])
    if spec_fields != api_spec:
        problems.append("MPIJobSpec: API spec fields %s, model %s" % (sorted(api_spec), sorted(spec_fields)))
    return problems
