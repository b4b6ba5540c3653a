"""Saekdam model worker: takes jobs from the Redis stream and runs them."""
