"""Diagnostic job: reports progress on a timer, optionally fails on purpose.

Benchmarks and fault tests drive the queue with it, so it must behave like a real job:
cancellable between steps, and leaving exactly one small result behind.
"""

import os
import signal
import time

import numpy as np

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, NoopParams

from ..context import JobContext
from ..errors import JobError, TransientJobError
from ..pipelines.codec import encode_png
from ..registry import job

# Short enough that a cancel is noticed within a blink even with 10 s steps.
_SLEEP_SLICE_S = 0.05
_RESULT_SIDE = 8


@job(JobKind.NOOP.value)
def run(ctx: JobContext, params: NoopParams) -> list[ResultItem]:
    ctx.plan(run=1)
    if params.fail == "error":
        raise JobError("noop_failed", "diagnostic failure requested")
    if params.fail == "transient":
        raise TransientJobError("noop_transient", "diagnostic transient failure requested")

    for step in range(1, params.steps + 1):
        _sleep_cancellably(ctx, params.step_s)
        ctx.report("run", step / params.steps, step=step, total_steps=params.steps)
        if params.fail == "crash":
            # One more step's wait lets the runtime publish the progress before the process dies,
            # so a fault test can tell "crashed mid-job" from "never started".
            _sleep_cancellably(ctx, params.step_s)
            os.kill(os.getpid(), signal.SIGKILL)

    blank = np.zeros((_RESULT_SIDE, _RESULT_SIDE, 3), dtype=np.uint8)
    item = ctx.save_result("noop.png", encode_png(blank), "image/png", _RESULT_SIDE, _RESULT_SIDE)
    return [item]


def _sleep_cancellably(ctx: JobContext, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, _SLEEP_SLICE_S))
        ctx.check_cancelled()
