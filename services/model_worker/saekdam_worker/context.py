"""What a job handler sees of the world: its inputs, a progress reporter, a result sink.

Handlers run in a worker thread. Everything here is safe to call from that thread; the
runtime turns progress into fenced task updates on its event loop.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saekdam_backbone.storage.base import ObjectStorage
from saekdam_contracts.events import ResultItem
from saekdam_contracts.keys import result_key

from .errors import JobAbandoned

if TYPE_CHECKING:
    from .models.manager import ModelManager
    from .pipelines.previews import PreviewSink


@dataclass(frozen=True)
class InputRef:
    upload_id: str
    role: str
    key: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ProgressUpdate:
    progress: float
    stage: str
    step: int | None
    total_steps: int | None
    eta_s: float | None


class JobContext:
    def __init__(
        self,
        *,
        task_id: str,
        attempt: int,
        inputs: list[InputRef],
        storage: ObjectStorage,
        report: Callable[[ProgressUpdate], None],
        cancelled: threading.Event,
        models: "ModelManager | None" = None,
        clock: Callable[[], float] = time.monotonic,
        previews: "PreviewSink | None" = None,
    ):
        self.task_id = task_id
        self.attempt = attempt
        self.inputs = inputs
        self._storage = storage
        self._report = report
        self._cancelled = cancelled
        self._models = models
        self._clock = clock
        # Where a denoising job's live previews go; None when nobody could watch.
        self.previews = previews
        self._started = self._last_report_at = self._stage_started = clock()
        self._stage: str | None = None
        self._weights: dict[str, float] = {}
        self._progress = 0.0
        self.last_update: ProgressUpdate | None = None

    @property
    def last_report_at(self) -> float:
        """When the job last reported progress (or started), on the context's clock."""
        return self._last_report_at

    def bind(self, attempt: int, report: Callable[[ProgressUpdate], None]) -> None:
        """For a job prepared before it was claimed: the attempt its claim got, and where
        its progress goes from now on (before the claim there was nowhere to write it)."""
        self.attempt, self._report = attempt, report

    # -- stages and progress -------------------------------------------------------------

    def plan(self, **weights: float) -> None:
        """Declare the job's stages in order with relative cost, e.g. plan(load=1, run=8)."""
        total = sum(weights.values())
        if total <= 0:
            raise ValueError(f"stage weights must add up to more than 0, got {weights}")
        self._weights = {name: w / total for name, w in weights.items()}

    def report(
        self,
        stage: str,
        fraction: float = 0.0,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> None:
        """Report `fraction` (0..1) of `stage` done; raises JobAbandoned once cancelled."""
        self.check_cancelled()
        now = self._clock()
        if stage != self._stage:
            # A stage begins where the previous report left off.
            self._stage, self._stage_started = stage, self._last_report_at
        progress = self._overall(stage, min(max(fraction, 0.0), 1.0))
        # Whole-job progress never goes backwards, even if a handler re-reports a stage.
        self._progress = max(self._progress, progress)
        eta = self._eta(now, stage, step, total_steps)
        self._last_report_at = now
        self.last_update = ProgressUpdate(round(self._progress, 4), stage, step, total_steps, eta)
        self._report(self.last_update)

    def _eta(self, now: float, stage: str, step: int | None, total: int | None) -> float | None:
        """Seconds left. Within a stage that counts steps, from its measured step rate (a
        first job's model load would skew a whole-job average); the stages after it are
        scaled from that stage by their planned weights. Otherwise, the whole-job average."""
        if step and total:
            per_step = (now - self._stage_started) / step
            stage_weight = self._weights[stage]
            later = sum(list(self._weights.values())[list(self._weights).index(stage) + 1 :])
            return (total - step) * per_step + later / stage_weight * total * per_step
        if self._progress <= 0:
            return None
        return (now - self._started) * (1 - self._progress) / self._progress

    def _overall(self, stage: str, fraction: float) -> float:
        if stage not in self._weights:
            raise ValueError(f"stage {stage!r} was not planned; planned: {list(self._weights)}")
        done = 0.0
        for name, weight in self._weights.items():
            if name == stage:
                return done + weight * fraction
            done += weight
        return done

    def check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobAbandoned("task cancelled or lease lost")

    @property
    def models(self) -> "ModelManager":
        """The process's models, loaded on first use (only GPU job handlers need them)."""
        if self._models is None:
            raise RuntimeError("this worker was started without models")
        return self._models

    # -- inputs and results --------------------------------------------------------------

    def inputs_for(self, role: str) -> list[InputRef]:
        return [ref for ref in self.inputs if ref.role == role]

    def read_input(self, ref: InputRef) -> bytes:
        self.check_cancelled()
        return self._storage.read(ref.key)

    def save_result(
        self,
        name: str,
        data: bytes,
        content_type: str,
        width: int,
        height: int,
        seed: int | None = None,
    ) -> ResultItem:
        self.check_cancelled()
        key = result_key(self.task_id, self.attempt, name)
        self._storage.write(key, data, content_type)
        return ResultItem(key=key, content_type=content_type, width=width, height=height, seed=seed)
