"""Relaying worker events from Redis pub/sub to task websockets."""
