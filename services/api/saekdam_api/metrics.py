"""Prometheus metrics of the API process."""

from prometheus_client import CollectorRegistry, Counter, Gauge

registry = CollectorRegistry()

WEBSOCKETS = Gauge(
    "saekdam_websocket_connections", "Task websockets currently open", registry=registry
)
WEBSOCKETS_DROPPED = Counter(
    "saekdam_websocket_dropped_total",
    "Task websockets closed because the client fell behind",
    registry=registry,
)
QUEUE_WAITING = Gauge(
    "saekdam_queue_waiting",
    "Jobs on the stream not yet taken by a worker",
    ["kind"],
    registry=registry,
)
QUEUE_PENDING = Gauge(
    "saekdam_queue_pending",
    "Jobs taken by a worker and not yet acknowledged",
    ["kind"],
    registry=registry,
)
TASKS_SUBMITTED = Counter(
    "saekdam_tasks_submitted_total", "Tasks queued, by kind", ["kind"], registry=registry
)
