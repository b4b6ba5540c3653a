"""Checks on what clients upload: the bytes decide, never the label."""
