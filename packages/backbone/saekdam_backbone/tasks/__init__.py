"""The task row (source of truth) and its fenced state transitions."""
