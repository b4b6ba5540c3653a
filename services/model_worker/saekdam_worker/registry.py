"""Job handler registry: the runtime knows kinds only by name."""

from collections.abc import Callable

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import Params

from .context import JobContext

Handler = Callable[[JobContext, Params], list[ResultItem]]

_HANDLERS: dict[str, Handler] = {}


def job(kind: str) -> Callable[[Handler], Handler]:
    """Register `fn(ctx, params) -> results` as the handler of `kind`."""

    def register(fn: Handler) -> Handler:
        if kind in _HANDLERS:
            raise ValueError(f"job kind {kind!r} registered twice")
        _HANDLERS[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
