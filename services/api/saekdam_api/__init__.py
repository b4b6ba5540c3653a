"""Saekdam API service."""
