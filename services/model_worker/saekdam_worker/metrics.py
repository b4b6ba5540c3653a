"""Prometheus metrics of a worker process (served on METRICS_PORT when set)."""

from prometheus_client import CollectorRegistry, Counter, Histogram

registry = CollectorRegistry()

JOB_DURATION = Histogram(
    "saekdam_job_duration_seconds",
    "Time from claim to the job's last write, by kind and outcome",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=registry,
)
FENCED_WRITES = Counter(
    "saekdam_fenced_writes_total",
    "Writes refused because the job was no longer this worker's (cancelled or taken over)",
    registry=registry,
)
RECLAIMED = Counter(
    "saekdam_jobs_reclaimed_total", "Messages taken over from a dead worker", registry=registry
)
