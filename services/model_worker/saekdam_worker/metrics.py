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
JOB_STAGE_SECONDS = Histogram(
    "saekdam_job_stage_seconds",
    "Time per job stage: prepare (inputs fetched and decoded), wait (for the pipeline), "
    "run (on the pipeline), finish (results encoded and stored)",
    ["kind", "stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=registry,
)
PIPELINE_BUSY = Counter(
    "saekdam_pipeline_busy_seconds",
    "Time the pipeline spent running jobs; its rate is the pipeline's (the GPU's) utilisation",
    registry=registry,
)
