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
# Every state change worth telling someone about (started, completed, failed, cancelled):
# a stream, so webhook and push deliverers (consumer groups below) miss nothing they were
# not told while down.
TASK_NEWS_STREAM = "saekdam:task-news"
WEBHOOK_GROUP = "webhooks"
PUSH_GROUP = "push"
# + task id + ":" + subscription id: that task's notification went (or is going) to that
# subscription, so a news entry read twice pushes once.
PUSH_SENT_PREFIX = "saekdam:push:sent:"
# + kind + ":wait" | ":run": the latest measured seconds of that kind's jobs (a capped list),
# written by workers, read by every API replica for queue ETAs and GET /v1/queue.
QUEUE_STATS_PREFIX = "saekdam:queue-stats:"
# Live previews (PreviewFrame JSON), worker -> API; never stored in the task row.
PREVIEW_CHANNEL = "saekdam:previews"
# + task id: a hash, one field per watching socket -> PreviewWatch JSON (key TTL refreshed
# while they watch). The worker makes previews only while it holds a live entry.
PREVIEW_WATCH_PREFIX = "saekdam:previews:watch:"
# + task id: the latest PreviewFrame JSON, with a short TTL, for a socket that opts in late.
PREVIEW_LATEST_PREFIX = "saekdam:previews:latest:"
# Fair turns (saekdam_backbone.fairness): + kind, a hash person -> their last turn, and the
# counter the turns are drawn from.
FAIR_TURNS_PREFIX = "saekdam:fair:turns:"
FAIR_CLOCK_PREFIX = "saekdam:fair:clock:"
# One dispatcher at a time moves QUEUED tasks onto the streams; a submit wakes it here.
DISPATCH_LOCK = "saekdam:dispatch:lock"
DISPATCH_CHANNEL = "saekdam:dispatch"
