"""Saekdam posture coach service."""
