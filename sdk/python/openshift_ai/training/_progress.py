"""Training progress: :func:`report` for training scripts, and the models
of the progress the platform keeps (``JobStatus.progress``,
:meth:`MPIJob.progress`). The line format is docs/user/progress.md."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Dict, List, Optional

from ._model import _Model

#: The word that marks a progress report on a line of standard output.
MARKER = "ODH_PROGRESS"

_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "RANK")


def _rank() -> int:
    for var in _RANK_VARS:
        v = os.environ.get(var)
        if v is not None and v.strip().lstrip("-").isdigit():
            return int(v)
    return 0


def report(
    step: Optional[int] = None,
    total_steps: Optional[int] = None,
    epoch: Optional[float] = None,
    total_epochs: Optional[int] = None,
    *,
    percent: Optional[float] = None,
    eta_seconds: Optional[float] = None,
    all_ranks: bool = False,
    file: Optional[IO[str]] = None,
    **metrics: float,
) -> bool:
    """Report how far training has got, with any named metrics::

        report(step=120, total_steps=1000, loss=0.53, accuracy=0.91)

    Prints one ``ODH_PROGRESS {...}`` line on standard output (flushed),
    which the platform turns into the job's progress. Only MPI rank 0
    reports unless ``all_ranks`` is true. Metrics whose value is not a
    finite number are left out. Returns whether a line was printed. Uses
    nothing but the standard library, so it works in any job image that
    has this package on its path."""
    if not all_ranks and _rank() != 0:
        return False
    body: Dict[str, Any] = {}
    for name, v in (("step", step), ("total_steps", total_steps), ("total_epochs", total_epochs)):
        if v is not None:
            body[name] = int(v)
    for name, fv in (("epoch", epoch), ("percent", percent), ("eta_seconds", eta_seconds)):
        if fv is not None and math.isfinite(float(fv)):
            body[name] = float(fv)
    for name, mv in metrics.items():
        try:
            f = float(mv)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            body[name] = f
    if not body:
        return False
    out = file if file is not None else sys.stdout
    out.write(MARKER + " " + json.dumps(body, separators=(",", ":")) + "\n")
    out.flush()
    return True


@dataclass
class MetricValue(_Model):
    """One named training metric (``loss``, ``accuracy``, ...)."""

    name: str = ""
    value: float = 0.0

    _optional = ("value",)


def _find(metrics: List[MetricValue], name: str) -> Optional[float]:
    for m in metrics:
        if m.name == name:
            return m.value
    return None


@dataclass
class Progress(_Model):
    """How far a job's training has got, as its program reported it.
    ``percent`` (0-100) and ``estimated_remaining_seconds`` are None when
    unknown; ``metrics`` holds the latest value of every metric."""

    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    total_epochs: int = 0
    percent: Optional[float] = None
    estimated_remaining_seconds: Optional[int] = None
    metrics: List[MetricValue] = field(default_factory=list)
    update_time: Optional[_dt.datetime] = None

    _nested = {"metrics": (MetricValue,)}
    _times = ("update_time",)
    _optional = ("percent", "estimated_remaining_seconds")

    def __post_init__(self) -> None:
        self._coerce()

    def metric(self, name: str) -> Optional[float]:
        """The latest value of a metric, or None."""
        return _find(self.metrics, name)


@dataclass
class ProgressPoint(_Model):
    """One report in a job's progress history."""

    time: Optional[_dt.datetime] = None
    step: int = 0
    epoch: float = 0.0
    metrics: List[MetricValue] = field(default_factory=list)

    _nested = {"metrics": (MetricValue,)}
    _times = ("time",)

    def __post_init__(self) -> None:
        self._coerce()

    def metric(self, name: str) -> Optional[float]:
        """The value of a metric in this report, or None."""
        return _find(self.metrics, name)


@dataclass
class JobProgress(_Model):
    """A job's progress (:meth:`MPIJob.progress`): ``latest`` (None before
    the first report) and ``points``, the history oldest first (thinned out
    evenly on long runs)."""

    latest: Optional[Progress] = None
    points: List[ProgressPoint] = field(default_factory=list)

    _nested = {"latest": Progress, "points": (ProgressPoint,)}

    def __post_init__(self) -> None:
        self._coerce()

    def series(self, metric: str) -> List[tuple]:
        """``[(step, value), ...]`` of one metric over the history, for a chart."""
        out = []
        for p in self.points:
            v = p.metric(metric)
            if v is not None:
                out.append((p.step, v))
        return out
