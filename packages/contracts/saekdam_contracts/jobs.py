"""Job kinds, their params and what uploads each one needs.

The API validates a submit against these before enqueueing; the worker validates again
before running, so a bad job never reaches a pipeline whichever way it arrived.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class JobKind(StrEnum):
    FILTER = "filter"
    PANORAMA = "panorama"
    MURAL = "mural"
    SKETCH = "sketch"
    # Diagnostic: does nothing but report progress. Only accepted when an operator
    # enables diagnostics; the benchmarks and fault tests drive the queue with it.
    NOOP = "noop"


class UploadRole(StrEnum):
    IMAGE = "image"
    MASK = "mask"
    SKETCH = "sketch"


UploadCounts = dict[UploadRole, tuple[int, int]]


class Params(BaseModel):
    # strict: "5" is not 5, and unknown fields are mistakes worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True)

    def required_uploads(self) -> UploadCounts | None:
        """Uploads these particular params need, when that differs from the kind's default."""
        return None


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


# -- mural -------------------------------------------------------------------------------

Theme = Literal["animals", "ocean", "nature", "play", "urban", "space", "custom"]
THEMES: tuple[str, ...] = Theme.__args__
Seed = Field(default=None, ge=0, le=2**32 - 1)
Prompt = Field(default="", max_length=500)


class Box(Params):
    """A rectangle in coordinates normalised to the photo (0..1 from the top left)."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _inside_the_photo(self) -> "Box":
        if self.x + self.w > 1 + 1e-6 or self.y + self.h > 1 + 1e-6:
            raise ValueError(f"box {self.x, self.y, self.w, self.h} reaches outside the photo")
        return self


class Point(Params):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    # 1: on the wall, 0: not on the wall (SAM's foreground/background labels).
    label: Literal[0, 1] = 1


class Region(Params):
    mode: Literal["auto", "box", "points", "mask"] = "auto"
    box: Box | None = None
    points: list[Point] | None = Field(default=None, min_length=1, max_length=16)

    @model_validator(mode="after")
    def _matches_mode(self) -> "Region":
        if (self.mode == "box") != (self.box is not None):
            raise ValueError("give `box` exactly when mode is 'box'")
        if (self.mode == "points") != (self.points is not None):
            raise ValueError("give `points` exactly when mode is 'points'")
        if self.points is not None and not any(p.label == 1 for p in self.points):
            raise ValueError("at least one point must be on the wall (label 1)")
        return self


class MuralParams(Params):
    theme: Theme
    prompt: str = Prompt
    negative_prompt: str | None = Field(default=None, max_length=500)
    region: Region = Field(default_factory=Region)
    seed: int | None = Seed
    steps: int = Field(default=30, ge=1, le=100)
    strength: float = Field(default=1.0, gt=0, le=1)
    guidance: float = Field(default=7.5, ge=0, le=20)
    lora_scale: float = Field(default=1.0, ge=0, le=2)

    @model_validator(mode="after")
    def _denoises_at_least_once(self) -> "MuralParams":
        # The pipeline runs int(steps * strength) denoising steps; zero would paint nothing.
        if int(self.steps * self.strength) < 1:
            raise ValueError(
                f"steps ({self.steps}) x strength ({self.strength}) must be at least 1"
            )
        return self

    def required_uploads(self) -> UploadCounts:
        if self.region.mode == "mask":
            return {UploadRole.IMAGE: (1, 1), UploadRole.MASK: (1, 1)}
        return {UploadRole.IMAGE: (1, 1)}


# -- sketch ------------------------------------------------------------------------------

Style = Literal[
    "none",
    "cinematic",
    "3d-model",
    "anime",
    "digital-art",
    "photographic",
    "pixel-art",
    "fantasy-art",
    "neonpunk",
    "manga",
]
STYLES: tuple[str, ...] = Style.__args__


class SketchParams(Params):
    style: Style = "none"
    prompt: str = Prompt
    negative_prompt: str | None = Field(default=None, max_length=500)
    seed: int | None = Seed
    steps: int = Field(default=25, ge=1, le=100)
    guidance: float = Field(default=5.0, ge=0, le=20)
    adapter_scale: float = Field(default=0.8, ge=0, le=2)
    conditioning_factor: float = Field(default=0.8, ge=0, le=1)


# -- specs -------------------------------------------------------------------------------


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
    JobKind.MURAL: JobSpec(
        JobKind.MURAL,
        MuralParams,
        {UploadRole.IMAGE: (1, 1), UploadRole.MASK: (0, 1)},
        ImageLimits(64, 8192),
    ),
    JobKind.SKETCH: JobSpec(
        JobKind.SKETCH, SketchParams, {UploadRole.SKETCH: (1, 1)}, ImageLimits(32, 4096)
    ),
    JobKind.NOOP: JobSpec(
        JobKind.NOOP, NoopParams, {UploadRole.IMAGE: (0, 1)}, ImageLimits(1, 8192), diagnostic=True
    ),
}

# Decoding a larger image is refused before any pixel is allocated (decompression bombs).
MAX_IMAGE_PIXELS = 64_000_000
