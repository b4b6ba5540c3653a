"""Telling people their tasks moved, from the worker side and never inline in a job: webhook
deliveries and Web Push notifications, both fed by the task-news stream."""
