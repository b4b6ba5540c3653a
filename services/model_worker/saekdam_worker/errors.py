"""How a job handler tells the runtime what went wrong."""


class JobError(Exception):
    """A permanent failure: the task ends FAILED with this code, no retry."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class TransientJobError(JobError):
    """Worth another attempt later (storage hiccup, out of memory): retried with backoff."""


class JobAbandoned(Exception):
    """The job is no longer ours: cancelled, or our lease was lost to another attempt."""
