"""What a worker advertises it can run, under `WORKER_PREFIX + worker_id` in Redis.

The worker writes it (`model_dump_json`) every few seconds with a short TTL; the API reads it
for `GET /v1/themes` and `/v1/styles`. Unknown fields are ignored so an older API can still
read a newer worker's advertisement (and the other way round, with the defaults).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from .redis_keys import WORKER_PREFIX

MuralRegion = Literal["auto", "box", "points", "mask"]
MURAL_REGIONS: tuple[MuralRegion, ...] = ("auto", "box", "points", "mask")


class WorkerCapabilities(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kinds: list[str] = []  # the job kinds this worker takes
    themes: list[str] = []  # mural themes it has the models (and adapters) for
    styles: list[str] = []  # sketch style presets it has the SDXL models for
    mural_regions: list[MuralRegion] = []  # how it can find the wall ("mask": client's own)


def worker_key(worker_id: str) -> str:
    """The Redis key one worker's advertisement lives under."""
    return WORKER_PREFIX + worker_id
