"""The posture service's routes: the stream, session history, operations."""
