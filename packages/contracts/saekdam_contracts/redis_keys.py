"""Every Redis key and channel name used across services, in one place."""

JOB_STREAM = "saekdam:jobs"
DEAD_LETTER_STREAM = "saekdam:jobs:dead"
WORKER_GROUP = "workers"
TASK_EVENTS_CHANNEL = "saekdam:task-events"
RECONCILER_LOCK = "saekdam:reconciler:lock"
RATE_LIMIT_PREFIX = "saekdam:ratelimit:"
