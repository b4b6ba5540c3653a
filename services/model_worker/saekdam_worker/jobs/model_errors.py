"""How a model run's own failures become job errors, the same for every GPU job."""

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import JobError, TransientJobError


@contextmanager
def model_run() -> Iterator[None]:
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        # The memory is the worker's, not the job's fault: free the cache and retry later.
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise TransientJobError("out_of_memory", "the GPU ran out of memory") from error
    except ValueError as error:
        # The pipelines' check_inputs: params that validated but the model cannot take.
        raise JobError("invalid_params", str(error)) from error
