"""Job kinds, their params and what uploads each one needs.

The API validates a submit against these before enqueueing; the worker validates again
before running, so a bad job never reaches a pipeline whichever way it arrived.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class JobKind(StrEnum):
    FILTER = "filter"
    PANORAMA = "panorama"
    # Diagnostic: does nothing but report progress. Only accepted when an operator
    # enables diagnostics; the benchmarks and fault tests drive the queue with it.
    NOOP = "noop"


class UploadRole(StrEnum):
    IMAGE = "image"
    MASK = "mask"
    SKETCH = "sketch"


class Params(BaseModel):
    # strict: "5" is not 5, and unknown fields are mistakes worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True)


FilterName = Literal["original", "emboss", "cartoon", "pencil_gray", "pencil_color", "oil_painting"]
FILTER_NAMES: tuple[str, ...] = FilterName.__args__


class FilterParams(Params):
    filter: FilterName


class PanoramaParams(Params):
    mode: Literal["panorama", "scans"] = "panorama"


class NoopParams(Params):
    steps: int = Field(default=1, ge=1, le=1000)
    step_s: float = Field(default=0.0, ge=0.0, le=10.0)
    # "error" fails at once, "transient" asks for a retry, "crash" kills the worker process.
    fail: Literal["error", "transient", "crash"] | None = None


@dataclass(frozen=True)
class ImageLimits:
    min_side: int
    max_side: int


@dataclass(frozen=True)
class JobSpec:
    kind: JobKind
    params: type[Params]
    # role -> (min count, max count)
    inputs: dict[UploadRole, tuple[int, int]]
    limits: ImageLimits
    diagnostic: bool = False


JOB_SPECS: dict[str, JobSpec] = {
    JobKind.FILTER: JobSpec(
        JobKind.FILTER, FilterParams, {UploadRole.IMAGE: (1, 1)}, ImageLimits(16, 8192)
    ),
    JobKind.PANORAMA: JobSpec(
        JobKind.PANORAMA, PanoramaParams, {UploadRole.IMAGE: (2, 10)}, ImageLimits(64, 8192)
    ),
    JobKind.NOOP: JobSpec(
        JobKind.NOOP, NoopParams, {UploadRole.IMAGE: (0, 1)}, ImageLimits(1, 8192), diagnostic=True
    ),
}

# Decoding a larger image is refused before any pixel is allocated (decompression bombs).
MAX_IMAGE_PIXELS = 64_000_000
