"""Job handler registry: the runtime knows kinds only by name.

A handler comes in up to three parts so the pipeline (the GPU) never waits on the CPU:
`prepare` fetches and decodes inputs while another job still holds the pipeline, `run` is
the pipeline's share, and `finish` encodes and stores the results while the next job runs.
A kind that registers only `run` does everything there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import Params

from .context import JobContext

Prepare = Callable[[JobContext, Params], Any]
Run = Callable[[JobContext, Any], Any]
Finish = Callable[[JobContext, Any], list[ResultItem]]


def _as_is(_ctx: JobContext, value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Handler:
    prepare: Prepare
    run: Run
    finish: Finish

    def __call__(self, ctx: JobContext, params: Params) -> list[ResultItem]:
        """All three parts in turn, on the calling thread (tests and direct use)."""
        return self.finish(ctx, self.run(ctx, self.prepare(ctx, params)))


_HANDLERS: dict[str, Handler] = {}


def job(kind: str, *, prepare: Prepare = _as_is, finish: Finish = _as_is) -> Callable[[Run], Run]:
    """Register `run(ctx, prepared) -> output` as the handler of `kind`, with the optional
    `prepare(ctx, params) -> prepared` (CPU only: no models) and `finish(ctx, output) ->
    results`. Without them `run` receives the params and returns the results."""

    def register(run: Run) -> Run:
        if kind in _HANDLERS:
            raise ValueError(f"job kind {kind!r} registered twice")
        _HANDLERS[kind] = Handler(prepare=prepare, run=run, finish=finish)
        return run

    return register


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
