"""Every Redis key and channel name used across services, in one place."""

JOB_STREAM = "saekdam:jobs"
DEAD_LETTER_STREAM = "saekdam:jobs:dead"
WORKER_GROUP = "workers"
TASK_EVENTS_CHANNEL = "saekdam:task-events"
# + task id: tells the worker running that task to stop now rather than at its next write.
CANCEL_CHANNEL_PREFIX = "saekdam:cancel:"
RECONCILER_LOCK = "saekdam:reconciler:lock"
RATE_LIMIT_PREFIX = "saekdam:ratelimit:"
# + worker id: JSON of what that worker can run (kinds, themes, styles), with a short TTL.
WORKER_PREFIX = "saekdam:workers:"
