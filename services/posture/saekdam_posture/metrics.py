"""Prometheus metrics of the posture service."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry()

SESSIONS = Gauge("saekdam_posture_sessions", "Posture websockets open", registry=registry)
# The API's name: a websocket let go for not reading (a send timed out, or no close frame).
WEBSOCKETS_DROPPED = Counter(
    "saekdam_websocket_dropped_total",
    "Posture websockets closed because the client stopped reading",
    registry=registry,
)
FRAMES = Counter(
    "saekdam_posture_frames_total", "Frames received, by outcome", ["outcome"], registry=registry
)
FRAME_SECONDS = Histogram(
    "saekdam_posture_frame_seconds",
    "From a frame's arrival to its answer",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
    registry=registry,
)
ALERTS = Counter(
    "saekdam_posture_alerts_total", "Alerts sent, by level", ["level"], registry=registry
)
